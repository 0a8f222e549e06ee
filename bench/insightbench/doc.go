// Package insightbench is make bench's fleet insight part (issue 20):
// `herd fleet diff` of a 1 MB file over 100 shepherds against `clush -b
// cat FILE` over real sshd in the same run (Diff), and `herd fleet tail`
// of hosts each appending lines at a steady rate, every line accounted
// for (Tail, with Writer the writer process of one host). It is a
// package of its own so that bench's own stays small.
package insightbench

// Package tail is the host side of herd fleet tail on a shepherd host:
// the read target's tail action, a stream of the lines appended to one
// file that the read capability's allow-list matches, filtered here on
// the host (--grep, --exclude: Go regular expressions, linear in time,
// at most MaxPattern bytes each) so that only matching lines cross the
// network. The file is opened as file-read opens it (filexfer.OpenRead:
// no symlink, no "..", no hard link), followed across truncation and
// rotation, read in bounded chunks, and lines longer than MaxLine are
// cut. Args parses and encodes the request; Filter is pure.
package tail

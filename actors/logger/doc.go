// Package logger is the actor that keeps one service's output: it writes
// the log file (rotating it), keeps the recent lines that status, `herd
// log -n` and a failed start's answer show, feeds followers, and hands
// its lines over across a re-exec. The process monitor's pump sends it
// the chunks it read; it never blocks the pump on the disk.
package logger

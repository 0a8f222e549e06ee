// Package filexfer is the host side of herd fleet push and pull (and of
// the reads of herd fleet diff, service read): the
// file-stat, file-write and file-read actions of a file capability
// (capability.FilesTarget), after the caretaker checked the capability
// for the path and the size.
//
// It trusts nothing in a request beyond that check. A path is resolved
// beneath the directory its matching pattern is rooted at, with
// openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) (or, on kernels without
// it, a walk of O_NOFOLLOW openat calls), so that neither "..", nor a
// symlink in a parent, nor a symlink as the file itself leads anywhere
// else. A write goes to a temporary file in the same directory, is
// checked against the announced size and sha256 as it arrives (chunk by
// chunk: nothing is held in memory beyond one chunk), and is fsynced and
// renamed over the file once complete, with the mode asked for and, when
// the daemon runs as root, the owner of the file it replaces. Every
// refusal reads the same, whatever its reason.
package filexfer

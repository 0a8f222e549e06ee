// Package sexp reads the s-expressions of Scheme source files (GNU
// Shepherd and Guix configurations) into a tree of Nodes with their
// positions, for the shepherd importer to interpret. It reads; it never
// evaluates.
//
// The input is a file a user hands to `herd import`, which may be
// anything: the reader bounds its size (Limits), its nesting depth and
// its number of nodes, and every malformed input is an *Error at a
// line and column, never a panic (FuzzSexp).
//
// What it reads is Guile's syntax as configurations use it: lists in
// parentheses or brackets, strings with their escapes, numbers, #t and
// #f, #:keywords, characters (#\a), vectors #( ), the quote forms ' ` ,
// ,@ and Guix's #~ #$ #$@ #+, and the comments ; #| |# #; and #! !#.
package sexp

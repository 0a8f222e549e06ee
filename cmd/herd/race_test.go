//go:build race

package main

// raceEnabled is the [race] condition of the scripts: the race detector
// multiplies the memory a daemon uses, and memory bounds allow for it.
const raceEnabled = true

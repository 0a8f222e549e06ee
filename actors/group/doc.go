// Package group is the actor of a service with `instances`: it owns no
// process and stands for its instances NAME.1 .. NAME.N, each a service
// with a controller of its own (package service). It fans starts and
// stops out to them and combines their states into its own.
package group

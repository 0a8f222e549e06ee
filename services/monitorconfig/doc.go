// Package monitorconfig reads the top-level monitors key of a
// configuration file (docs/monitors.md): built-in monitors and plugins,
// their intervals, timeouts and thresholds, with errors at FILE:LINE:COL.
// It is apart from services/config, which calls Parse for each file.
package monitorconfig

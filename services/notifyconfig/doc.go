// Package notifyconfig reads the notify: section of the configuration
// (docs/notifications.md) into alerting.Settings, every problem at
// FILE:LINE:COL; services/config calls it for each file it reads.
package notifyconfig

// Package notifycmd holds herd's commands of notifications: `herd
// notify test TARGET` and `herd incidents` (docs/notifications.md),
// which cli registers among its built-in commands.
package notifycmd

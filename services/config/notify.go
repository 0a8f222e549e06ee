package config

import (
	"fmt"
	"os"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/alerting"
	"github.com/shepherd-go/shepherd/services/notifyconfig"
)

// Notify is the top-level notify: section (alerting.Settings), and
// NotifyTarget one of its targets.
type (
	Notify       = alerting.Settings
	NotifyTarget = alerting.TargetSettings
)

// LoadNotify reads only the notify: section of the configuration at path
// (a file or a directory); nil if there is none.
func LoadNotify(path string) (*Notify, error) {
	files, err := configFiles(path)
	if err != nil {
		return nil, err
	}
	var out *Notify
	var errs services.ErrorList
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read configuration: %w", err)
		}
		n, e := notifyconfig.Parse(f, data)
		errs = append(errs, e...)
		out = mergeNotify(out, n, &errs)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// mergeNotify keeps the first notify: section; a second one is an error.
func mergeNotify(have, n *Notify, errs *services.ErrorList) *Notify {
	switch {
	case n == nil:
		return have
	case have == nil:
		return n
	}
	errs.Add(services.Pos{File: n.File, Line: 1, Col: 1}, "notify: defined again (first in %s): keep one notify: section", have.File)
	return have
}

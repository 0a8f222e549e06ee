package capability

import (
	"fmt"
	"slices"
	"strings"
)

// JobPrefix starts the target of a job capability: "job:backup" is the
// tracked job backup (herd run --to). Its one right is ReportAction.
const JobPrefix = "job:"

// ReportAction is the right to report runs of one job and nothing else.
const ReportAction = "report"

// JobTarget is the capability target of the job named name.
func JobTarget(name string) string { return JobPrefix + name }

// JobOf is the job a target names, if it is a job target.
func JobOf(target string) (string, bool) { return strings.CutPrefix(target, JobPrefix) }

// CheckJobGrant refuses a grant on a job target with any right other
// than report.
func CheckJobGrant(target string, actions []string) error {
	if _, ok := JobOf(target); !ok {
		return nil
	}
	if len(actions) == 0 || slices.ContainsFunc(actions, func(a string) bool { return a != ReportAction }) {
		return fmt.Errorf("a job capability (%s) has one right: --actions %s", target, ReportAction)
	}
	return nil
}

package herdtools

import (
	"reflect"
	"sort"
	"strings"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cli"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/fleetcmd"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/importcmd"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/alerting"
	"github.com/shepherd-go/shepherd/services/jobs"
	"github.com/spf13/cobra"
)

// Document is one kind of JSON document a command prints with --json.
type Document struct {
	// Title says when it is printed.
	Title string
	// Type is the Go type it is printed from (a struct).
	Type reflect.Type
	// Line: a stream prints it, a JSON line per record.
	Line bool
}

func doc[T any](title string) Document { return Document{Title: title, Type: reflect.TypeFor[T]()} }

func line[T any](title string) Document {
	return Document{Title: title, Type: reflect.TypeFor[T](), Line: true}
}

// Documents says, for every herd command (its path under herd, as
// "status" or "fleet exec"), what it prints with --json besides the
// error document (cmdutil.ErrorDoc) any command may print. Every
// runnable command must be here (TestJSONSchemas), and docs/schemas/ has
// the schema generated from each entry; a command with no document but
// errors has an empty list.
func Documents() map[string][]Document {
	action := doc[wire.ActionResult]("what the action did")
	// Several services per verb (each.go): one document for them all.
	actions := doc[cli.ActionResults]("what the action did to each of several services")
	is := doc[cli.IsStates]("the state of each service")
	return map[string][]Document{
		"status":     {doc[wire.StatusAll]("every service"), doc[wire.Status]("one service"), doc[cli.StatusResults]("several services")},
		"start":      {action, actions},
		"stop":       {action, actions},
		"restart":    {action, actions},
		"enable":     {action, actions},
		"disable":    {action, actions},
		"is-active":  {is},
		"is-failed":  {is},
		"is-enabled": {is},
		"kill":       {doc[wire.KillResult]("the signal sent"), doc[cli.KillResults]("the signal sent to each of several services")},
		"doc":        {doc[wire.Doc]("the service's documentation and actions")},
		"log": {
			doc[wire.LogResult]("transitions, or a service's output lines (-n)"),
			line[wire.LogEntry]("one output line (-f)"),
		},
		"graph":  {doc[wire.Graph]("the service graph")},
		"load":   {doc[wire.LoadResult]("the services loaded")},
		"unload": {action},
		"reload": {
			doc[wire.ReloadResult]("the configuration re-read"),
			doc[wire.ActionResult]("a service's reload action"),
		},
		"halt":      {action},
		"power-off": {action},
		"reboot":    {action},
		"history":   {doc[wire.Events]("the service's events")},
		"events": {
			doc[wire.Events]("the events"),
			line[wire.Event]("one event (--follow)"),
		},
		"cap grant":     {doc[wire.CapInfo]("the capability made")},
		"cap attenuate": {doc[wire.CapInfo]("the capability made")},
		"cap revoke":    {doc[wire.CapInfo]("the capability revoked")},
		"cap list":      {doc[wire.CapList]("the capabilities")},
		"cap import":    {doc[wire.LoadResult]("the service made")},
		"scale":         {action},
		"upgrade":       {doc[wire.UpgradeResult]("the daemon re-executed")},
		"id":            {doc[wire.NetID]("the daemon's identity")},
		"peers":         {doc[wire.Peers]("the connected daemons")},
		"facts":         {doc[wire.Facts]("the latest facts")},
		"monitors":      {doc[wire.Monitors]("each monitor's last run")},
		"query":         {doc[wire.QueryResult]("the query's columns and rows")},
		"collect":       {doc[wire.CollectStatus]("each collected host's cursor, counts, last pull and last error")},
		"hosts": {
			doc[fleetcmd.HostsDoc]("the hosts selected"),
			doc[fleetcmd.TagsDoc]("the tags of the hosts selected (--tags)"),
		},
		"fleet watch": {line[fleetcmd.WatchRound]("one round")},
		// A prompt: no --json mode (a usage error says so).
		"fleet shell": {},
		"recipe list": {doc[fleetcmd.RecipesDoc]("the recipes")},
		"recipe show": {doc[fleetcmd.RecipeDoc]("one recipe")},
		"recipe run": {
			doc[fleetcmd.RecipeRunDoc]("how every step went"),
			doc[fleetcmd.RecipePlanDoc]("the rendered steps per host (--dry-run)"),
		},
		"fleet exec": {
			doc[fleetcmd.ExecDoc]("the run"),
			line[fleet.Result]("one host's answer (--stream)"),
		},
		"fleet push":         {doc[fleetcmd.FilesDoc]("the run")},
		"fleet pull":         {doc[fleetcmd.FilesDoc]("the run")},
		"fleet ping":         {doc[fleetcmd.PingDoc]("who answers, in what time")},
		"fleet history":      {doc[wire.FleetRuns]("the runs kept")},
		"fleet show":         {doc[wire.FleetRun]("one run")},
		"fleet diff":         {doc[fleetcmd.DiffDoc]("how two runs differ"), doc[fleetcmd.FileDiffDoc]("how a file differs across hosts (diff PATH)")},
		"fleet export":       {doc[wire.FleetRun]("one run")},
		"fleet bootstrap":    {doc[fleetcmd.BootstrapDoc]("the host bootstrapped")},
		"config validate":    {doc[ValidateDoc]("what validation found")},
		"import":             {},
		"import shepherd":    {doc[importcmd.Report]("the services file made")},
		"import supervisord": {doc[importcmd.Report]("the services file made")},
		"import systemd":     {doc[importcmd.Report]("the services file made")},
		"action":             {action},
		"notify test":        {doc[alerting.TestResult]("the test alert delivered")},
		"incidents":          {doc[alerting.Listing]("the open and recent incidents")},
		"run":                {doc[jobs.Run]("the run, once it ended (the command's output goes to stderr)")},
		"jobs":               {doc[jobs.List]("the tracked jobs")},
		"jobs show":          {doc[jobs.Detail]("one job and its runs")},

		// herd fleet snapshot (issue 20).
		"fleet snapshot":        {doc[fleetcmd.SnapshotDoc]("the snapshot taken")},
		"fleet snapshot list":   {doc[fleetcmd.SnapshotListDoc]("the snapshots kept")},
		"fleet snapshot show":   {doc[fleetcmd.SnapshotShowDoc]("one snapshot, every host's facts")},
		"fleet snapshot export": {doc[fleetcmd.SnapshotShowDoc]("one snapshot, every host's facts")},
		"fleet snapshot diff":   {doc[fleetcmd.SnapshotDiffDoc]("what changed on each host")},
		"fleet tail":            {line[fleetcmd.TailLineDoc]("one line of a host, or a note about its stream")},
		"spawn": {
			doc[wire.SpawnResult]("the transient made; with --wait, how it ended (a JSON line, last)"),
			line[wire.LogEntry]("one output line (--wait)"),
		},
		"timers":   {doc[wire.TimersResult]("the timer services and scheduled jobs")},
		"trigger":  {doc[wire.TriggerResult]("what the firing did")},
		"schedule": {doc[wire.ScheduleResult]("the transient scheduled")},
	}
}

// Enums are the closed sets of values of named string types in the
// documents (JSON Schema enum).
func Enums() map[reflect.Type][]string {
	var kinds []string
	for _, k := range cmdutil.ErrorKinds() {
		kinds = append(kinds, string(k))
	}
	return map[reflect.Type][]string{
		reflect.TypeFor[wire.ErrorKind](): kinds,
		reflect.TypeFor[alerting.Class](): alertClasses(),
		reflect.TypeFor[wire.Outcome](): {
			string(wire.Started), string(wire.AlreadyRunning), string(wire.Stopped), string(wire.NotRunning),
			string(wire.Enabled), string(wire.Disabled), string(wire.Done),
		},
	}
}

// JSONCommands lists the path of every runnable command of herd (each
// takes --json, a persistent flag), sorted; not `completion SHELL`, which
// prints a shell script, --json or not.
func JSONCommands() []string {
	var out []string
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if sub.Name() == "completion" {
				continue
			}
			if sub.Runnable() && sub.Name() != "help" {
				out = append(out, CommandPath(sub))
			}
			walk(sub)
		}
	}
	walk(NewRootCmd(&cmdutil.Factory{}))
	sort.Strings(out)
	return out
}

// CommandPath is a command's path under herd: "fleet exec".
func CommandPath(c *cobra.Command) string {
	return strings.TrimPrefix(c.CommandPath(), c.Root().Name()+" ")
}

// CommandOf is the path of the command herd runs for args, as Run routes
// them (a custom action is "action"); "" when none matches.
func CommandOf(args []string) string {
	root := NewRootCmd(&cmdutil.Factory{})
	c, _, err := root.Find(cli.RouteCustomAction(root, args))
	if err != nil || c == root {
		return ""
	}
	return CommandPath(c)
}

// SchemaFile is the name of the schema of a command's documents in
// docs/schemas/ ("" for the error document alone).
func SchemaFile(command string) string {
	if command == "" {
		return "herd-error.json"
	}
	return "herd-" + strings.ReplaceAll(command, " ", "-") + ".json"
}

func alertClasses() []string {
	out := make([]string, len(alerting.Classes))
	for i, c := range alerting.Classes {
		out[i] = string(c)
	}
	return out
}

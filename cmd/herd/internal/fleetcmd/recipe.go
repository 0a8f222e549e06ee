package fleetcmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/fleet/recipe"
	"github.com/shepherd-go/shepherd/netlayer/wire"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/spf13/cobra"
)

// DefaultRecipes is the recipes directory when --recipes is not given:
// $XDG_CONFIG_HOME/herd/recipes, by default under ~/.config.
func DefaultRecipes() string {
	return filepath.Join(filepath.Dir(DefaultInventory()), "recipes")
}

// RecipeDoc is one recipe (herd recipe show --json; a recipe of herd
// recipe list --json).
type RecipeDoc struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	File        string         `json:"file"`
	Line        int            `json:"line"`
	Params      []recipe.Param `json:"params"`
	Steps       []recipe.Step  `json:"steps"`
}

// RecipesDoc is `herd recipe list --json`'s document.
type RecipesDoc struct {
	Recipes []RecipeDoc `json:"recipes"`
}

// RecipePlanDoc is `herd recipe run --dry-run --json`'s document: the
// rendered steps per host; nothing ran.
type RecipePlanDoc struct {
	Recipe string            `json:"recipe"`
	Params map[string]string `json:"params"`
	Hosts  []HostPlan        `json:"hosts"`
}

// HostPlan is the steps one host would run.
type HostPlan struct {
	Host  string        `json:"host"`
	Steps []PlannedStep `json:"steps"`
}

// PlannedStep is one rendered step.
type PlannedStep struct {
	Step    int         `json:"step"`
	When    recipe.When `json:"when,omitempty"`
	Command []string    `json:"command"`
}

// RecipeRunDoc is `herd recipe run --json`'s document.
type RecipeRunDoc struct {
	Recipe string            `json:"recipe"`
	Params map[string]string `json:"params"`
	Steps  []StepRun         `json:"steps"`
	// Failed are the hosts that failed a step (they ran no later step
	// but those for failed hosts).
	Failed  []string `json:"failed"`
	Summary string   `json:"summary"`
}

// StepRun is how one step went: recorded as one fleet run.
type StepRun struct {
	Step int         `json:"step"`
	When recipe.When `json:"when,omitempty"`
	// Command is the step rendered (the template, when hosts differ).
	Command     []string       `json:"command"`
	Run         int            `json:"run"`
	RecordError string         `json:"record_error,omitempty"`
	Results     []fleet.Result `json:"results"`
	Groups      []fleet.Group  `json:"groups"`
	Summary     string         `json:"summary"`
}

// NewCmdRecipe builds `herd recipe`: list, show and run.
func NewCmdRecipe(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "recipe", Short: "Named, parameterized multi-step fleet runs"}
	var dir, inventory string
	load := func() ([]*recipe.Recipe, error) {
		rs, err := recipe.Load(dir)
		if err != nil {
			return nil, f.FailInvalid("invalid recipes in "+dir, err)
		}
		if inv, err := fleet.LoadInventory(inventory); err == nil {
			more, err := recipe.ParseSection(inv.File, inv.RecipeSection)
			if err != nil {
				return nil, f.FailInvalid("invalid recipes in "+inventory, err)
			}
			rs = append(rs, more...)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, f.FailInvalid("invalid inventory "+inventory, err)
		}
		seen := map[string]*recipe.Recipe{}
		for _, r := range rs {
			if o := seen[r.Name]; o != nil {
				return nil, f.Fail(fmt.Sprintf("recipe %s is defined twice: %s:%d and %s:%d; rename one", r.Name, o.Pos.File, o.Pos.Line, r.Pos.File, r.Pos.Line))
			}
			seen[r.Name] = r
		}
		return rs, nil
	}
	find := func(name string) (*recipe.Recipe, error) {
		rs, err := load()
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.Name == name {
				return r, nil
			}
		}
		return nil, f.Fail(fmt.Sprintf("no recipe %s in %s or %s (herd recipe list shows them)", name, dir, inventory))
	}
	cmd.PersistentFlags().StringVar(&dir, "recipes", DefaultRecipes(), "the directory of recipe files (NAME.yaml)")
	cmd.PersistentFlags().StringVar(&inventory, "inventory", DefaultInventory(), "the inventory file (its recipes: too)")

	list := &cobra.Command{
		Use:   "list",
		Short: "The recipes, with their descriptions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := load()
			if err != nil {
				return err
			}
			if f.JSON {
				doc := RecipesDoc{Recipes: []RecipeDoc{}}
				for _, r := range rs {
					doc.Recipes = append(doc.Recipes, recipeDoc(r))
				}
				return f.PrintDoc(doc)
			}
			if len(rs) == 0 {
				fmt.Fprintf(f.Out, "No recipes (in %s or %s's recipes:).\n", dir, inventory)
			}
			for _, r := range rs {
				fmt.Fprintf(f.Out, "%-20s %s\n", r.Name, r.Description)
			}
			return nil
		},
	}
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "A recipe's params and steps",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := find(args[0])
			if err != nil {
				return err
			}
			if f.JSON {
				return f.PrintDoc(recipeDoc(r))
			}
			fmt.Fprintf(f.Out, "%s (%s:%d)", r.Name, r.Pos.File, r.Pos.Line)
			if r.Description != "" {
				fmt.Fprintf(f.Out, ": %s", r.Description)
			}
			fmt.Fprintln(f.Out)
			if len(r.Params) > 0 {
				fmt.Fprintln(f.Out, "Params:")
			}
			for _, p := range r.Params {
				note := ""
				switch {
				case p.Required:
					note = " (required)"
				case p.Default != "":
					note = fmt.Sprintf(" (default %q)", p.Default)
				}
				fmt.Fprintf(f.Out, "  %s%s  %s\n", p.Name, note, p.Description)
			}
			fmt.Fprintln(f.Out, "Steps:")
			for i, s := range r.Steps {
				fmt.Fprintf(f.Out, "  %d. %s%s\n", i+1, whenNote(s.When, i), s.Run)
			}
			return nil
		},
	}
	cmd.AddCommand(list, show, newCmdRecipeRun(f, find, &inventory))
	return cmd
}

func newCmdRecipeRun(f *cmdutil.Factory, find func(string) (*recipe.Recipe, error), inventory *string) *cobra.Command {
	var o fleetOptions
	var so sshOptions
	var sets []string
	var dryRun bool
	c := &cobra.Command{
		Use:   "run NAME [-g GROUP] [-t TAG] [-H HOSTS] [--set KEY=VALUE...] [--dry-run]",
		Short: "Run a recipe's steps on the selected hosts",
		Long: `Run a recipe's steps on the selected hosts, one step on every host at a
time: each step is grouped as fleet exec groups and recorded as one fleet
run. A host that fails a step runs no later step, but the steps marked
when: failed (@failed), which run only on the hosts that failed the step
before them. Steps marked when: changed (@changed) run on the hosts whose
answer to the step before differs from that step's last recorded run.
--dry-run prints the rendered steps per host and runs nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			set := map[string]string{}
			for _, kv := range sets {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return cmdutil.UsageError(fmt.Sprintf("recipe run: --set %q: expected KEY=VALUE", kv))
				}
				set[k] = v
			}
			r, err := find(args[0])
			if err != nil {
				return err
			}
			params, err := r.Bind(set)
			if err != nil {
				return cmdutil.UsageError(err.Error())
			}
			o.inventory = *inventory
			hosts, err := selectHosts(f, &o)
			if err != nil {
				return err
			}
			// Every step is rendered for every host before anything
			// runs: a template error stops the recipe before it starts.
			now := time.Now()
			argvs := make([]map[string][]string, len(r.Steps))
			for i := range r.Steps {
				argvs[i] = map[string][]string{}
				for _, h := range hosts {
					argv, err := r.Render(i, params, h, now)
					if err != nil {
						return f.Fail(err.Error())
					}
					argvs[i][h.Name] = argv
				}
			}
			if dryRun {
				return printPlan(f, r, params, hosts, argvs)
			}
			execOn, closeConns, err := so.transport(f, hosts)
			if err != nil {
				return err
			}
			defer closeConns()
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			doc := RecipeRunDoc{Recipe: r.Name, Params: params, Steps: []StepRun{}, Failed: []string{}}
			failed, lastFailed, changed := map[string]bool{}, map[string]bool{}, map[string]bool{}
			warned := false
			for i, s := range r.Steps {
				run := recipe.StepHosts(s.When, hosts, failed, lastFailed, changed)
				command := stepCommand(s, argvs[i], run)
				if !f.JSON {
					head := fmt.Sprintf("== Step %d/%d: %s%s", i+1, len(r.Steps), whenNote(s.When, i), fleet.ShellQuote(command))
					if len(run) == 0 {
						fmt.Fprintf(f.Out, "%s: no host to run it on ==\n", head)
					} else {
						fmt.Fprintf(f.Out, "%s (%d hosts) ==\n", head, len(run))
					}
				}
				lastFailed, changed = map[string]bool{}, map[string]bool{}
				if len(run) == 0 {
					continue
				}
				perHost := argvs[i]
				results := runOn(ctx, f.Socket, run, func(h *fleet.Host) []string { return perHost[h.Name] }, so.fanoutFor(run), so.timeout, execOn)
				if ctx.Err() != nil {
					return f.Fail(fmt.Sprintf("recipe %s: interrupted during step %d", r.Name, i+1))
				}
				for _, res := range results {
					if res.Status() != "ok" {
						lastFailed[res.Host] = true
						failed[res.Host] = true
					}
				}
				// The next step runs where this one's answer changed:
				// compare with this command's last recorded run.
				if i+1 < len(r.Steps) && r.Steps[i+1].When == recipe.Changed {
					var prev []fleet.Result
					if last := lastRun(f, command); last != nil {
						prev = fromWire(last.Results)
					}
					changed = fleet.ChangedHosts(prev, results)
				}
				sr := StepRun{Step: i + 1, When: s.When, Command: command, Results: results, Groups: fleet.GroupResults(results), Summary: fleet.Summary(results)}
				sel := strings.TrimSpace(fmt.Sprintf("recipe %s step %d/%d %s", r.Name, i+1, len(r.Steps), o.sel.String()))
				id, recErr := recordRun(f, wire.FleetRun{Time: time.Now(), Command: command, Selector: sel, Summary: sr.Summary, Results: toWire(results)})
				sr.Run = id
				if recErr != nil {
					sr.RecordError = recErr.Error()
					if !f.JSON && !warned {
						fmt.Fprintf(f.Err, "herd: warning: the steps are not recorded: %v\n", recErr)
						warned = true
					}
				}
				doc.Steps = append(doc.Steps, sr)
				if !f.JSON {
					printGroups(f, sr.Groups)
					line := sr.Summary
					if id > 0 {
						line += fmt.Sprintf(" (run %d)", id)
					}
					fmt.Fprintln(f.Out, line)
				}
			}
			for _, h := range hosts {
				if failed[h.Name] {
					doc.Failed = append(doc.Failed, h.Name)
				}
			}
			doc.Summary = fmt.Sprintf("%d hosts completed every step, %d failed", len(hosts)-len(doc.Failed), len(doc.Failed))
			if len(doc.Failed) > 0 {
				doc.Summary += " (" + fleet.Fold(doc.Failed) + ")"
			}
			if f.JSON {
				if err := f.PrintDoc(doc); err != nil {
					return f.Fail(err.Error())
				}
			} else {
				fmt.Fprintf(f.Out, "Recipe %s: %s.\n", r.Name, doc.Summary)
			}
			if len(doc.Failed) > 0 {
				return cmdutil.Failure{Code: cmdutil.ExitFailure}
			}
			return nil
		},
	}
	// The selector flags of fleetOptions, but --inventory is recipe's.
	c.Flags().StringArrayVarP(&o.sel.Groups, "in", "g", nil, "hosts in this group, or not in it: !GROUP (repeat: every condition)")
	c.Flags().StringArrayVarP(&o.sel.Tags, "tag", "t", nil, "hosts with every tag of a,b (KEY=VALUE or NAME), or without one: !TAG")
	c.Flags().StringArrayVarP(&o.sel.Hosts, "host", "H", nil, "these hosts: web[01-12],db1 (repeat for more)")
	c.Flags().StringArrayVarP(&o.sel.Exclude, "exclude", "x", nil, "not these hosts: web[03-04] (repeat for more)")
	so.flags(c)
	c.Flags().StringArrayVar(&sets, "set", nil, "a param's value, KEY=VALUE (repeat)")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "print the rendered steps per host; run nothing")
	return c
}

// stepCommand is what a step runs, for its record and its header: the
// rendered command if every host runs the same one, else the template's
// words.
func stepCommand(s recipe.Step, argvs map[string][]string, hosts []*fleet.Host) []string {
	var first []string
	for i, h := range hosts {
		if i == 0 {
			first = argvs[h.Name]
		} else if !slices.Equal(first, argvs[h.Name]) {
			return templateWords(s)
		}
	}
	if first == nil {
		return templateWords(s)
	}
	return first
}

func templateWords(s recipe.Step) []string {
	if w, err := config.SplitWords(s.Run); err == nil && len(w) > 0 {
		return w
	}
	return strings.Fields(s.Run)
}

func whenNote(w recipe.When, i int) string {
	switch w {
	case recipe.Failed:
		return fmt.Sprintf("[where step %d failed] ", i)
	case recipe.Changed:
		return fmt.Sprintf("[where step %d's answer changed] ", i)
	}
	return ""
}

func printPlan(f *cmdutil.Factory, r *recipe.Recipe, params map[string]string, hosts []*fleet.Host, argvs []map[string][]string) error {
	doc := RecipePlanDoc{Recipe: r.Name, Params: params}
	for _, h := range hosts {
		hp := HostPlan{Host: h.Name}
		for i, s := range r.Steps {
			hp.Steps = append(hp.Steps, PlannedStep{Step: i + 1, When: s.When, Command: argvs[i][h.Name]})
		}
		doc.Hosts = append(doc.Hosts, hp)
	}
	if f.JSON {
		return f.PrintDoc(doc)
	}
	fmt.Fprintf(f.Out, "Recipe %s on %d hosts (dry run: nothing runs)\n", r.Name, len(hosts))
	for _, hp := range doc.Hosts {
		fmt.Fprintf(f.Out, "%s:\n", hp.Host)
		for _, s := range hp.Steps {
			fmt.Fprintf(f.Out, "  %d. %s%s\n", s.Step, whenNote(s.When, s.Step-1), fleet.ShellQuote(s.Command))
		}
	}
	return nil
}

func recipeDoc(r *recipe.Recipe) RecipeDoc {
	d := RecipeDoc{Name: r.Name, Description: r.Description, File: r.Pos.File, Line: r.Pos.Line, Params: r.Params, Steps: r.Steps}
	if d.Params == nil {
		d.Params = []recipe.Param{}
	}
	return d
}

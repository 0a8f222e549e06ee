package herdtools

import (
	"fmt"
	"os"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cmdutil"
	"github.com/shepherd-go/shepherd/cmd/herd/internal/fleetcmd"
	"github.com/shepherd-go/shepherd/fleet"
	"github.com/shepherd-go/shepherd/fleet/recipe"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/config"
	"github.com/spf13/cobra"
)

// ValidateDoc is `herd config validate --json`'s document; herd exits 1
// when a file is not valid.
type ValidateDoc struct {
	// Valid: every file is.
	Valid bool            `json:"valid"`
	Files []ValidatedFile `json:"files"`
}

// ValidatedFile is what validation found in one file.
type ValidatedFile struct {
	File string `json:"file"`
	// Kind is "inventory" or "services".
	Kind  string `json:"kind"`
	Valid bool   `json:"valid"`
	// Count is how many hosts (inventory) or services the file defines,
	// when it is valid.
	Count  int           `json:"count"`
	Errors []ConfigError `json:"errors"`
}

// ConfigError is one error of a file, at its position (line 0: the file
// as a whole, such as one that cannot be read).
type ConfigError struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func configErrors(file string, err error) []ConfigError {
	list, ok := err.(services.ErrorList)
	if !ok {
		return []ConfigError{{File: file, Message: err.Error()}}
	}
	out := make([]ConfigError, len(list))
	for i, e := range list {
		out[i] = ConfigError{File: e.Pos.File, Line: e.Pos.Line, Column: e.Pos.Col, Message: e.Msg}
	}
	return out
}

func newCmdConfig(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Check configuration files"}
	var inventory string
	validate := &cobra.Command{
		Use:   "validate [--inventory FILE] [SERVICES_FILE...]",
		Short: "Report every error of the inventory and of services files, at file:line:col",
		RunE: func(cmd *cobra.Command, files []string) error {
			doc := ValidateDoc{Valid: true}
			bad := 0
			check := func(file, kind string, count int, err error) {
				v := ValidatedFile{File: file, Kind: kind, Valid: err == nil, Count: count}
				if err != nil {
					v.Errors = configErrors(file, err)
					doc.Valid = false
					bad += len(v.Errors)
				}
				doc.Files = append(doc.Files, v)
				if f.JSON {
					return
				}
				switch {
				case err == nil:
					fmt.Fprintf(f.Out, "%s: %d %s, valid.\n", file, count, map[string]string{"inventory": "hosts", "services": "services"}[kind])
				case f.PrintErrorList(err) == 0:
					fmt.Fprintf(f.Err, "herd: error: %s: %v\n", file, err)
				}
			}
			explicit := cmd.Flags().Changed("inventory")
			if _, err := os.Stat(inventory); err == nil || explicit {
				inv, err := fleet.LoadInventory(inventory)
				n := 0
				if err == nil {
					n = len(inv.Hosts)
					// Its recipes: section too, at file:line.
					_, err = recipe.ParseSection(inv.File, inv.RecipeSection)
				}
				check(inventory, "inventory", n, err)
			}
			accounts := f.Accounts
			if accounts == nil {
				accounts = config.SystemAccounts{}
			}
			for _, file := range files {
				cfg, err := config.LoadPath(file, accounts)
				n := 0
				if err == nil {
					n = len(cfg.Services)
				}
				check(file, "services", n, err)
			}
			if f.JSON {
				if err := f.PrintDoc(doc); err != nil {
					return f.Fail(err.Error())
				}
				if bad > 0 {
					return cmdutil.Failure{Code: cmdutil.ExitFailure}
				}
				return nil
			}
			if bad > 0 {
				return f.Fail(fmt.Sprintf("%d error(s)", bad))
			}
			return nil
		},
	}
	validate.Flags().StringVar(&inventory, "inventory", fleetcmd.DefaultInventory(), "the inventory file")
	cmd.AddCommand(validate)
	return cmd
}

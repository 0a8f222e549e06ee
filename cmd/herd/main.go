// Command herd is the client of the shepherd daemon: `herd status`,
// `herd start web-server`, `herd log`, ... with --json everywhere.
package main

import (
	"os"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Command herd-tools runs the herd commands that read configuration files
// or reach other hosts themselves (herd hosts, fleet, config validate,
// import): herd runs it in their place, so that its other commands do not
// pay for the packages these link. It is a whole herd: `herd-tools
// status` works too.
package main

import (
	"os"

	"github.com/shepherd-go/shepherd/cmd/herd/internal/herdtools"
)

func main() { os.Exit(herdtools.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// Command shepherd is the service manager daemon: it reads the services
// configuration, supervises the processes, and serves herd on a unix socket.
package main

import (
	"os"

	"github.com/shepherd-go/shepherd/cmd/internal/shepherdcli"
	"github.com/shepherd-go/shepherd/internal/proc"
)

func main() {
	proc.RunTrampolineIfAsked()
	os.Exit(shepherdcli.Main(os.Args[1:], os.Stdout, os.Stderr))
}

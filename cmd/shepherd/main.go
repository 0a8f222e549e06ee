// Command shepherd is the service manager daemon: it reads the services
// configuration, supervises the processes, and serves herd on a unix socket.
package main

import (
	"os"

	"github.com/shepherd-go/shepherd/actors"
	"github.com/shepherd-go/shepherd/cmd/internal/shepherdcli"
)

func main() {
	actors.RunTrampolineIfAsked()
	os.Exit(shepherdcli.Main(os.Args[1:], os.Stderr))
}

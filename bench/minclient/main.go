// Command minclient is the baseline of `herd status`'s cost in make
// bench: the least a Go program can do to ask a daemon for a status: dial
// the socket, send the request, read the reply, print it. What herd
// takes beyond it is its own start-up (package init, the command tree)
// and its formatting.
//
//	minclient SOCKET [SERVICE]
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/shepherd-go/shepherd/netlayer/local"
	"github.com/shepherd-go/shepherd/netlayer/wire"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: minclient SOCKET [SERVICE]")
		os.Exit(2)
	}
	req := wire.Request{Action: "status"}
	if len(os.Args) > 2 {
		req.Service = os.Args[2]
	}
	ctx := context.Background()
	c, err := local.Dial(ctx, os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	rep, err := c.Call(ctx, req)
	if err != nil || !rep.OK {
		fmt.Fprintln(os.Stderr, "minclient:", err, rep.Error)
		os.Exit(1)
	}
	os.Stdout.Write(append(rep.Result, '\n'))
}

// Command webserver is the fleet demo's web server: it serves one page
// naming its host, or with -get fetches a page and prints it (so the demo
// needs no curl).
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to serve on")
	name := flag.String("name", "a host", "who answers")
	get := flag.String("get", "", "fetch this URL, print the page and exit")
	flag.Parse()
	if *get != "" {
		c := http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(*get)
		if err != nil {
			fmt.Fprintln(os.Stderr, "webserver:", err)
			os.Exit(1)
		}
		defer resp.Body.Close()
		io.Copy(os.Stdout, resp.Body)
		return
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello from the web server of %s (pid %d).\n", *name, os.Getpid())
	})
	log.Printf("serving %s on http://%s/", *name, *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
)

// hookRecvMain is the program `hookrecv PORT FILE`: a webhook receiver
// on 127.0.0.1:PORT that appends "STATUS KEY" of every alert it gets to
// FILE (and its Idempotency-Key header, which must be the key), until it
// is killed.
func hookRecvMain() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: hookrecv PORT FILE")
		os.Exit(2)
	}
	var mu sync.Mutex
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var a struct{ Key, Status string }
		if json.Unmarshal(b, &a) != nil || a.Key == "" || r.Header.Get("Idempotency-Key") != a.Key {
			http.Error(w, "no key", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(os.Args[2], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(f, "%s %s\n", a.Status, a.Key)
		f.Close()
	})
	fmt.Fprintln(os.Stderr, http.ListenAndServe("127.0.0.1:"+os.Args[1], nil))
	os.Exit(1)
}

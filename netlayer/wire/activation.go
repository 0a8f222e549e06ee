package wire

// Activation is a socket-activated service's sockets and how they are
// used, in `herd status NAME` (field activation).
type Activation struct {
	// Style is "systemd" (the sockets passed to the service's process,
	// LISTEN_FDS) or "inetd" (one process per connection).
	Style string `json:"style"`
	// OnConnection: the process starts at the first connection; Waiting:
	// it has not started yet (or exited), the next connection starts it.
	OnConnection bool `json:"on_connection,omitempty"`
	Waiting      bool `json:"waiting,omitempty"`
	// Listening: the daemon holds the sockets (from the service's start
	// until it is stopped or failed; a restart keeps them).
	Listening bool     `json:"listening"`
	Sockets   []Socket `json:"sockets"`
	// Inetd style: connections being served (at most MaxConnections),
	// served and refused (beyond the bound) since the daemon started.
	MaxConnections int    `json:"max_connections,omitempty"`
	Connections    int    `json:"connections,omitempty"`
	Served         uint64 `json:"served,omitempty"`
	Refused        uint64 `json:"refused,omitempty"`
}

// Socket is one endpoint of a socket-activated service.
type Socket struct {
	// Kind is "tcp" or "unix"; Address is HOST:PORT or the socket's path.
	Kind    string `json:"kind"`
	Address string `json:"address"`
	// Name is its name in LISTEN_FDNAMES.
	Name string `json:"name"`
	// Inode is the listening socket's (as ss(8) and /proc/PID/fd show
	// it), while it listens.
	Inode uint64 `json:"inode,omitempty"`
}

// Package activation is the operating system's side of socket activation
// (services/listen.go and services/lifecycle/activation.go decide when): binding a
// service's endpoints as the daemon (Bind, Reconcile), what a process gets
// with them (ListenEnv: sd_listen_fds(3)'s LISTEN_FDS and LISTEN_FDNAMES;
// the trampoline adds LISTEN_PID; ConnEnv for one inetd-style
// connection), one epoll loop that says when a client waits on a
// listening socket (Poller), accepting for inetd-style services
// (Socket.Accept) and keeping track of each connection until its process
// ends (Conns), what status shows (Status), and the hand-over of sockets
// and connections' processes across a re-exec (Saved, Inherit, InheritFDs).
//
// No actors here: the service's controller owns its sockets and tells
// the poller what to do with them.
package activation

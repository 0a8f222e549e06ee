package services

// EnvironmentFile is one `environment-file:` entry: a file of KEY=VALUE
// lines in systemd's EnvironmentFile= format, read at each start.
type EnvironmentFile struct {
	Path string `json:"path"`
	// Optional (a "-" before the path): a missing file is skipped, as
	// systemd does. Any other problem still fails the start.
	Optional bool `json:"optional,omitempty"`
}

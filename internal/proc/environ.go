package proc

import (
	"os"
	"slices"
	"strings"
)

// The environment a service's processes start with (moved here from
// actors/service, where the line budget of a package ran out: it is OS
// mechanics, used by the controller, its hooks and probes, and exec).

// Environ builds a child's environment: base (BaseEnvironment), then
// each layer in order (the user's identity, the service's own variables,
// extras).
func Environ(base map[string]string, layers ...map[string]string) []string {
	env := map[string]string{}
	for k, v := range base {
		env[k] = v
	}
	for _, layer := range layers {
		for k, v := range layer {
			env[k] = v
		}
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// BaseEnvironment is what every service gets: the daemon's PATH and the
// identity of the user it runs as.
func BaseEnvironment() map[string]string {
	env := map[string]string{"PATH": DefaultPath}
	if p := os.Getenv("PATH"); p != "" {
		env["PATH"] = p
	}
	for _, k := range []string{"HOME", "USER", "LOGNAME", "SHELL", "LANG", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	return env
}

// SetEnv sets k=v in env, in place of an earlier value: getenv(3) takes
// the first, and the daemon's word on NOTIFY_SOCKET must be the one.
func SetEnv(env []string, k, v string) []string {
	for i, kv := range env {
		if strings.HasPrefix(kv, k+"=") {
			env[i] = k + "=" + v
			return env
		}
	}
	return append(env, k+"="+v)
}

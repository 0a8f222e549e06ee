package config

import (
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/services"
)

func TestTransientSpec(t *testing.T) {
	acc := fakeAccounts{}
	s, err := TransientSpec("transient-1", []string{"sh", "-c", "echo 'hi'; exit 3"}, "", false, "uid 1000", acc)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Transient || s.Respawn || s.AutoStart || s.OneShot || s.Credentials != nil {
		t.Errorf("spec = %+v: want transient, no respawn, no auto-start, the daemon's user", s)
	}
	if strings.Join(s.Command, "|") != "sh|-c|echo 'hi'; exit 3" {
		t.Errorf("command = %q", s.Command)
	}
	if s.Pos.File != services.TransientFile || !strings.Contains(s.Documentation, "uid 1000") {
		t.Errorf("pos %v, documentation %q", s.Pos, s.Documentation)
	}
	s, err = TransientSpec("job", []string{"sleep", "1"}, "", true, "root", acc)
	if err != nil || !s.Respawn {
		t.Errorf("--respawn: %+v, %v", s, err)
	}
	for _, c := range []struct {
		name string
		argv []string
		user string
		want string
	}{
		{"a b", []string{"true"}, "", "must not contain spaces"},
		{"a/b", []string{"true"}, "", "must not contain spaces or '/'"},
		{"-x", []string{"true"}, "", "nor start with '-'"},
		{"shepherd", []string{"true"}, "", "reserved for the daemon"},
		{"root", []string{"true"}, "", "reserved for the daemon"},
		{"x", nil, "", "no command"},
		{"x", []string{""}, "", "no command"},
		{"x", []string{"true"}, "nosuchuser", "user"},
	} {
		_, err := TransientSpec(c.name, c.argv, c.user, false, "root", acc)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("TransientSpec(%q, %q, user %q) = %v, want an error with %q", c.name, c.argv, c.user, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), services.TransientFile+":") {
			t.Errorf("error %q names the generated document", err)
		}
	}
}

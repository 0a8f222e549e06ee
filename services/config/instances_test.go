package config

import (
	"reflect"
	"strings"
	"testing"

	"github.com/shepherd-go/shepherd/services"
)

func TestInstanceNumbers(t *testing.T) {
	s, errs := parseOne(t, `services:
  - name: web
    instances: 3
    command: [server, "--port=80{instance}", --name, "web-{instance}-{instance}"]
    environment: {DATA: "/srv/{instance}", PLAIN: x}
    ready: {tcp: "127.0.0.1:80{instance}"}
`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	i2 := s.Instance(2)
	if want := []string{"server", "--port=802", "--name", "web-2-2"}; !reflect.DeepEqual(i2.Command, want) {
		t.Errorf("instance 2's command %q, want %q", i2.Command, want)
	}
	if want := map[string]string{"DATA": "/srv/2", "PLAIN": "x", "SHEPHERD_INSTANCE": "2"}; !reflect.DeepEqual(i2.Environment, want) {
		t.Errorf("instance 2's environment %v, want %v", i2.Environment, want)
	}
	if i2.Ready.TCP != "127.0.0.1:802" {
		t.Errorf("instance 2's probe %q", i2.Ready.TCP)
	}
	// The group's definition is untouched, and so is every other instance's.
	if s.Command[1] != "--port=80{instance}" || s.Environment["DATA"] != "/srv/{instance}" || s.Ready.TCP != "127.0.0.1:80{instance}" {
		t.Errorf("the group's definition changed: %q %v %q", s.Command, s.Environment, s.Ready.TCP)
	}
	if _, ok := s.Environment[services.InstanceEnv]; ok {
		t.Errorf("the group has %s", services.InstanceEnv)
	}
	if i3 := s.Instance(3); i3.Command[1] != "--port=803" || i3.Environment["SHEPHERD_INSTANCE"] != "3" {
		t.Errorf("instance 3: %q %v", i3.Command, i3.Environment)
	}
}

func TestInstanceRefWithoutInstances(t *testing.T) {
	_, errs := Parse("bad.yaml", []byte(`services:
  - name: web
    command: [server, "--port=80{instance}"]
    environment:
      DATA: "/srv/{instance}"
      "{instance}": fine as a name, not replaced
    ready: {exec: "check {instance}"}
    documentation: "{instance} is only text here"
  - name: single
    command: "server --id {instance}"
`), testAccounts)
	errs.Sort()
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		`bad.yaml:3:23: service web: {instance} in command is replaced by the number of an instance, and web has no instances (add instances: N, or write something else)`,
		`bad.yaml:5:13: service web: {instance} in environment is replaced by the number of an instance, and web has no instances (add instances: N, or write something else)`,
		`bad.yaml:7:19: service web: {instance} in ready is replaced by the number of an instance, and web has no instances (add instances: N, or write something else)`,
		`bad.yaml:10:14: service single: {instance} in command is replaced by the number of an instance, and single has no instances (add instances: N, or write something else)`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

package importer

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// YAML writes the services in our configuration format. Each service's
// warnings are comments above it, and the file's own above the list, so
// that what was not carried over stays next to what was.
func (r *Result) YAML() ([]byte, error) {
	r.SortWarnings()
	var names []string
	for _, f := range r.Files {
		names = append(names, filepath.Base(f))
	}
	head := comment(fmt.Sprintf("Imported by `herd import %s` from %s.", r.Source, strings.Join(names, ", ")))
	var fileWarnings []string
	byService := map[string][]string{}
	for _, w := range r.Warnings {
		line := comment(fmt.Sprintf("%s:%d: %s: %s", filepath.Base(w.File), w.Line, w.Directive, w.Message))
		if w.Service == "" || !r.has(w.Service) {
			fileWarnings = append(fileWarnings, line)
		} else {
			byService[w.Service] = append(byService[w.Service], line)
		}
	}
	if len(r.Warnings) > 0 {
		head += fmt.Sprintf("\n%d directive(s) were not carried over, or not exactly: each is\nlisted above its service.", len(r.Warnings))
	}
	if len(fileWarnings) > 0 {
		head += "\n\n" + strings.Join(fileWarnings, "\n")
	}
	list := &yaml.Node{Kind: yaml.SequenceNode}
	for _, s := range r.Services {
		n := s.node()
		if ws := byService[s.Name]; len(ws) > 0 {
			n.HeadComment = "Not carried over:\n" + strings.Join(ws, "\n")
		}
		list.Content = append(list.Content, n)
	}
	if len(list.Content) == 0 {
		list.Style = yaml.FlowStyle
	}
	root := &yaml.Node{Kind: yaml.MappingNode, HeadComment: head}
	root.Content = append(root.Content, str("services"), list)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (r *Result) has(name string) bool {
	for _, s := range r.Services {
		if s.Name == name {
			return true
		}
	}
	return false
}

func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }

func integer(i int64) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(i, 10)}
}

func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func flow(items []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, it := range items {
		n.Content = append(n.Content, str(it))
	}
	return n
}

type mapping struct{ n *yaml.Node }

func newMapping() mapping { return mapping{&yaml.Node{Kind: yaml.MappingNode}} }

func (m mapping) add(key string, v *yaml.Node) { m.n.Content = append(m.n.Content, str(key), v) }

func names(refs []Ref) []string {
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.Name
	}
	return out
}

// node is the service as a YAML mapping, its keys in the order of
// docs/config.md's table where it has one.
func (s *Service) node() *yaml.Node {
	m := newMapping()
	m.add("name", str(s.Name))
	if len(s.Provides) > 0 {
		m.add("provides", flow(names(s.Provides)))
	}
	if len(s.Requires) > 0 {
		m.add("requires", flow(names(s.Requires)))
	}
	if s.Documentation != "" {
		m.add("documentation", str(s.Documentation))
	}
	if len(s.Command) > 0 {
		m.add("command", flow(s.Command))
	}
	if len(s.Environment) > 0 {
		env := newMapping()
		for _, e := range s.Environment {
			env.add(e.Name, str(e.Value))
		}
		m.add("environment", env.n)
	}
	switch len(s.EnvironmentFiles) {
	case 0:
	case 1:
		m.add("environment-file", str(s.EnvironmentFiles[0]))
	default:
		m.add("environment-file", flow(s.EnvironmentFiles))
	}
	if s.Directory != "" {
		m.add("directory", str(s.Directory))
	}
	if s.User != "" {
		m.add("user", str(s.User))
	}
	if s.Group != "" {
		m.add("group", str(s.Group))
	}
	if len(s.SupplementaryGroups) > 0 {
		m.add("supplementary-groups", flow(s.SupplementaryGroups))
	}
	if s.Umask != "" {
		m.add("umask", str(s.Umask))
	}
	if len(s.Limits) > 0 {
		lim := newMapping()
		for _, l := range s.Limits {
			if l.Soft == l.Hard {
				lim.add(l.Name, limitValue(l.Soft))
				continue
			}
			sh := newMapping()
			sh.n.Style = yaml.FlowStyle
			sh.add("soft", limitValue(l.Soft))
			sh.add("hard", limitValue(l.Hard))
			lim.add(l.Name, sh.n)
		}
		m.add("limits", lim.n)
	}
	if s.Nice != nil {
		m.add("nice", integer(int64(*s.Nice)))
	}
	if s.IOClass != "" {
		m.add("io-class", str(s.IOClass))
	}
	if s.IOPriority != nil {
		m.add("io-priority", integer(int64(*s.IOPriority)))
	}
	if s.LogFile != "" {
		m.add("log-file", str(s.LogFile))
	}
	if s.LogRotate != nil {
		lr := newMapping()
		lr.n.Style = yaml.FlowStyle
		lr.add("size", sizeValue(s.LogRotate.Size))
		lr.add("keep", integer(int64(s.LogRotate.Keep)))
		m.add("log-rotate", lr.n)
	}
	if s.PIDFile != "" {
		m.add("pid-file", str(s.PIDFile))
	}
	if s.PIDFileTimeout != 0 {
		m.add("pid-file-timeout", str(FormatDuration(s.PIDFileTimeout)))
	}
	if s.Ready != "" {
		m.add("ready", str(s.Ready))
	}
	if s.MinUptime != 0 {
		m.add("min-uptime", str(FormatDuration(s.MinUptime)))
	}
	if s.OneShot {
		m.add("one-shot", boolean(true))
	}
	if s.Respawn != nil {
		m.add("respawn", boolean(*s.Respawn))
	}
	if s.RespawnLimit != nil {
		if s.RespawnLimit.Unlimited {
			m.add("respawn-limit", str("unlimited"))
		} else {
			rl := newMapping()
			rl.n.Style = yaml.FlowStyle
			rl.add("count", integer(int64(s.RespawnLimit.Count)))
			if w := s.RespawnLimit.Window; w%time.Second == 0 {
				rl.add("seconds", integer(int64(w/time.Second)))
			} else {
				rl.add("seconds", str(FormatDuration(w)))
			}
			m.add("respawn-limit", rl.n)
		}
	}
	if s.RespawnDelay != 0 {
		m.add("respawn-delay", str(FormatDuration(s.RespawnDelay)))
	}
	if s.StopSignal != "" {
		m.add("stop-signal", str(s.StopSignal))
	}
	if s.StopTimeout != 0 {
		m.add("stop-timeout", str(FormatDuration(s.StopTimeout)))
	}
	if s.AutoStart != nil {
		m.add("auto-start", boolean(*s.AutoStart))
	}
	if s.Instances > 0 {
		m.add("instances", integer(int64(s.Instances)))
	}
	if len(s.Actions) > 0 {
		acts := newMapping()
		for _, a := range s.Actions {
			am := newMapping()
			am.add("command", flow(a.Command))
			if a.Documentation != "" {
				am.add("documentation", str(a.Documentation))
			}
			acts.add(a.Name, am.n)
		}
		m.add("actions", acts.n)
	}
	return m.n
}

func limitValue(v uint64) *yaml.Node {
	if v == Unlimited {
		return str("unlimited")
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatUint(v, 10)}
}

// sizeValue writes a byte count as log-rotate reads it: "10MB" where it
// can, else the number.
func sizeValue(n int64) *yaml.Node {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return str(strconv.FormatInt(n/u.mult, 10) + u.suffix)
		}
	}
	return integer(n)
}

// comment makes s fit on one line of a YAML comment, which cannot escape
// anything: control characters, line breaks and bytes that are not UTF-8
// (all from the source file, in a message) are written as \xNN or \u.
func comment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

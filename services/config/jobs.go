package config

import (
	"fmt"
	"os"

	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/jobs"
	"github.com/shepherd-go/shepherd/services/yamlnode"
	"go.yaml.in/yaml/v3"
)

// parseJobs reads the top-level jobs key of a file: the expectations of
// tracked jobs (herd run), each `{name: NAME, expect: {every: D, grace: D}}`.
// seen holds the names of earlier files, for duplicates.
func parseJobs(file string, data []byte, seen map[string]bool) ([]jobs.Expect, services.ErrorList) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil // Parse reports these
	}
	var errs services.ErrorList
	p := parser{Parser: yamlnode.Parser{File: file, Errs: &errs}}
	var out []jobs.Expect
	root := doc.Content[0]
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "jobs" {
			continue
		}
		v := root.Content[i+1]
		if v.Kind != yaml.SequenceNode {
			p.Errorf(v, "jobs: expected a list, got %s", yamlnode.KindName(v))
			continue
		}
		for _, item := range v.Content {
			if e, ok := p.job(item, seen); ok {
				out = append(out, e)
			}
		}
	}
	return out, errs
}

func (p parser) job(n *yaml.Node, seen map[string]bool) (jobs.Expect, bool) {
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "jobs: expected a mapping such as {name: backup, expect: {every: 24h, grace: 1h}}, got %s", yamlnode.KindName(n))
		return jobs.Expect{}, false
	}
	var e jobs.Expect
	var nameNode, expectNode *yaml.Node
	p.EachKey(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			nameNode = v
			e.Name = p.Str("name", v)
		case "expect":
			expectNode = v
			if v.Kind != yaml.MappingNode {
				p.Errorf(v, "expect: expected a mapping such as {every: 24h, grace: 1h}, got %s", yamlnode.KindName(v))
				return
			}
			p.EachKey(v, func(key string, k, v *yaml.Node) {
				switch key {
				case "every":
					if e.Every = p.Duration("every", v); e.Every == 0 {
						p.Errorf(v, "every: must be more than 0")
					}
				case "grace":
					e.Grace = p.Duration("grace", v)
				default:
					p.Errorf(k, "unknown key %q in expect (expected 'every' or 'grace')", key)
				}
			})
		default:
			p.Errorf(k, "unknown key %q in a job (expected 'name' or 'expect')", key)
		}
	})
	switch {
	case nameNode == nil:
		p.Errorf(n, "a job needs a name")
		return e, false
	case e.Name == "":
		return e, false
	}
	if err := jobs.CheckName(e.Name); err != nil {
		p.Errorf(nameNode, "%v", err)
		return e, false
	}
	if seen[e.Name] {
		p.Errorf(nameNode, "duplicate job %q", e.Name)
		return e, false
	}
	seen[e.Name] = true
	if expectNode == nil {
		p.Errorf(n, "job %s: expect is missing (expect: {every: 24h, grace: 1h}); a job without one needs no entry", e.Name)
		return e, false
	}
	return e, e.Every > 0
}

// LoadJobs reads the job expectations of a configuration file or
// directory (the daemon's jobs read them at each start and re-exec).
// With an error (the file changed since the daemon started, and is now
// invalid), the expectations that could be read come with it.
func LoadJobs(path string) ([]jobs.Expect, error) {
	if path == "" {
		return nil, nil
	}
	cfg, _, err := ParsePath(path, nil)
	if err != nil {
		return nil, err
	}
	var out []jobs.Expect
	var errs services.ErrorList
	seen := map[string]bool{}
	for _, f := range cfg.Files {
		data, err := os.ReadFile(f)
		if err != nil {
			return out, fmt.Errorf("read configuration: %w", err)
		}
		j, e := parseJobs(f, data, seen)
		out, errs = append(out, j...), append(errs, e...)
	}
	return out, errs.Err()
}

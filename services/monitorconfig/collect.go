package monitorconfig

import (
	"time"

	"github.com/shepherd-go/shepherd/capability"
	"github.com/shepherd-go/shepherd/services"
	"github.com/shepherd-go/shepherd/services/yamlnode"
	"go.yaml.in/yaml/v3"
)

// CollectHost is one entry of the top-level collect list: a host whose
// events and facts this daemon pulls (facts/collect) with Ref, a facts
// capability (herd cap grant facts --actions read --to-peer THIS_DAEMON).
type CollectHost struct {
	Name string
	Pos  services.Pos
	Ref  string
	// Interval between pulls. Default 1m; at least 1s.
	Interval time.Duration
	// PageSize is the most events and fact samples the host sends in
	// one page (page-size). Default and most MaxPageSize; at least 1.
	// Smaller pages are more requests, each a smaller frame and a
	// smaller batch on the collector.
	PageSize int
}

// MaxCollectHosts bounds the collect list.
const MaxCollectHosts = 10000

// MaxPageSize is the most items of a page (facts/collect.MaxItems, the
// protocol's bound; a test checks they agree).
const MaxPageSize = 1000

// ParseCollect reads the collect key of a file.
func ParseCollect(file string, data []byte) ([]CollectHost, services.ErrorList) {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, nil // Parse reports these
	}
	var errs services.ErrorList
	p := parser{Parser: yamlnode.Parser{File: file, Errs: &errs}}
	root := doc.Content[0]
	var out []CollectHost
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "collect" {
			continue
		}
		v := root.Content[i+1]
		if v.Kind != yaml.SequenceNode {
			p.Errorf(v, "collect: expected a list of hosts (host, ref, interval, page-size), got %s", yamlnode.KindName(v))
			continue
		}
		if len(v.Content) > MaxCollectHosts {
			p.Errorf(v, "collect: %d hosts (at most %d)", len(v.Content), MaxCollectHosts)
			continue
		}
		seen := map[string]bool{}
		for _, item := range v.Content {
			h, ok := p.collectHost(item)
			if !ok {
				continue
			}
			if seen[h.Name] {
				p.Errorf(item, "collect: host %q is listed twice", h.Name)
				continue
			}
			seen[h.Name] = true
			out = append(out, h)
		}
	}
	return out, errs
}

func (p parser) collectHost(n *yaml.Node) (CollectHost, bool) {
	h := CollectHost{Pos: services.Pos{File: p.File, Line: n.Line, Col: n.Column}, Interval: time.Minute, PageSize: MaxPageSize}
	if n.Kind != yaml.MappingNode {
		p.Errorf(n, "collect: expected a mapping with a 'host' and a 'ref', got %s", yamlnode.KindName(n))
		return h, false
	}
	before := len(*p.Errs)
	p.EachKey(n, func(key string, k, v *yaml.Node) {
		switch key {
		case "host":
			h.Name = p.Str("host", v)
		case "ref":
			h.Ref = p.Str("ref", v)
			if _, err := capability.ParseSturdyref(h.Ref); h.Ref != "" && err != nil {
				p.Errorf(v, "collect: host %s: ref: %v (paste what herd cap grant facts printed)", h.Name, err)
			}
		case "interval":
			h.Interval = p.Duration("interval", v)
		case "page-size":
			n := len(*p.Errs)
			if h.PageSize = p.Integer("page-size", v); len(*p.Errs) == n && (h.PageSize < 1 || h.PageSize > MaxPageSize) {
				p.Errorf(v, "collect: host %s: page-size %d: expected 1 to %d events and samples a page", h.Name, h.PageSize, MaxPageSize)
			}
		default:
			p.Errorf(k, "collect: unknown key %q (expected host, ref, interval, page-size)", key)
		}
	})
	switch {
	case h.Name == "":
		p.Errorf(n, "collect: an entry needs a host (the name the host gets in queries)")
	case !validMonitorName(h.Name) || len(h.Name) > 128:
		p.Errorf(n, "collect: host %q: a name is at most 128 letters, digits, '-', '_' and '.'", h.Name)
	case h.Ref == "":
		p.Errorf(n, "collect: host %s needs a ref (herd cap grant facts --actions read --to-peer THIS_DAEMON on it)", h.Name)
	}
	if h.Interval < time.Second {
		p.Errorf(n, "collect: host %s: interval %s is less than 1s", h.Name, h.Interval)
	}
	return h, len(*p.Errs) == before
}

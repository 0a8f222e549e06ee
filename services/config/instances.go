package config

import (
	"strings"

	"github.com/shepherd-go/shepherd/services"

	"go.yaml.in/yaml/v3"
)

// instanceKeys are the keys whose strings have {instance} replaced by an
// instance's number (services.Spec.Instance): command, the values of
// environment, and the probes of ready.
var instanceKeys = map[string]bool{"command": true, "environment": true, "ready": true}

// checkInstanceRefs reports each {instance} of a service without
// instances, where it would stay as it is: a mistake, most likely a
// service that lost its instances key. n is the service's node.
func (p parser) checkInstanceRefs(s *services.Spec, n *yaml.Node) {
	if s.Instances > 0 {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !instanceKeys[k.Value] {
			continue
		}
		var walk func(v *yaml.Node, isKey bool)
		walk = func(v *yaml.Node, isKey bool) {
			switch v.Kind {
			case yaml.ScalarNode:
				if !isKey && strings.Contains(v.Value, services.InstanceRef) {
					p.Errorf(v, "service %s: %s in %s is replaced by the number of an instance, and %s has no instances (add instances: N, or write something else)", s.Name, services.InstanceRef, k.Value, s.Name)
				}
			case yaml.SequenceNode:
				for _, c := range v.Content {
					walk(c, false)
				}
			case yaml.MappingNode:
				for j := 0; j+1 < len(v.Content); j += 2 {
					walk(v.Content[j], true)
					walk(v.Content[j+1], false)
				}
			}
		}
		walk(v, false)
	}
}

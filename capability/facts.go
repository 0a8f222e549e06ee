package capability

import (
	"fmt"
	"slices"
)

// FactsTarget is the built-in target of facts capabilities (herd cap
// grant facts --actions read --to-peer COLLECTOR): a collector's right to
// pull this host's events and facts (facts/collect), and nothing else.
const FactsTarget = "facts"

// FactsRead is a facts capability's one right.
const FactsRead = "read"

// CheckFactsGrant refuses a grant on the facts target with any right
// other than read.
func CheckFactsGrant(target string, actions []string) error {
	if target != FactsTarget {
		return nil
	}
	if len(actions) == 0 || slices.ContainsFunc(actions, func(a string) bool { return a != FactsRead }) {
		return fmt.Errorf("a facts capability has one right, read-only: --actions %s", FactsRead)
	}
	return nil
}

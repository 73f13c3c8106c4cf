package components

import (
	"sort"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// tagMap merges tag sets into one StringMap; later sets win.
func tagMap(sets ...map[string]string) pulumi.StringMap {
	out := pulumi.StringMap{}
	for _, set := range sets {
		for k, v := range set {
			out[k] = pulumi.String(v)
		}
	}
	return out
}

// sortedKeys returns the keys of m in order, so that derived lists are stable.
func sortedKeys(m pulumi.StringMap) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

package components

import (
	"sort"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
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

// propagatedTags are tags as an Auto Scaling group takes them, each
// propagated to the instances it launches, in key order.
func propagatedTags(tags pulumi.StringMap) autoscaling.GroupTagArray {
	var out autoscaling.GroupTagArray
	for _, k := range sortedKeys(tags) {
		out = append(out, &autoscaling.GroupTagArgs{Key: pulumi.String(k), Value: tags[k], PropagateAtLaunch: pulumi.Bool(true)})
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

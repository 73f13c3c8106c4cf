package stack

import (
	"strconv"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/zones"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// zoneLayout reads zoneLayout and the deprecated spreadAcrossZones it
// replaces. An empty zoneLayout is single, or spread when spreadAcrossZones
// is true; spreadAcrossZones false says nothing (it is Pulumi.yaml's
// default, which the CLI passes whether the stack set it or not), true is
// spread with a deprecation warning naming the new key. A layout that disagrees with
// spreadAcrossZones true is an error, and split needs two zones.
func (r *reader) zoneLayout(c *Config) zones.Layout {
	raw := r.str("zoneLayout")
	spread := r.boolean("spreadAcrossZones")
	layout := zones.Single
	if raw != "" {
		l, err := zones.ParseLayout(raw)
		if err != nil {
			r.fail("zoneLayout", raw, "single (every node in the first zone), split (origins in the first zone, edges in the second) "+
				"or spread (both groups over every zone)")
			return zones.Single
		}
		layout = l
	}
	if spread {
		if raw != "" && layout != zones.Spread {
			r.fail("spreadAcrossZones", true, "unset (or false) when zoneLayout is "+raw+": spreadAcrossZones is deprecated, "+
				"and true means zoneLayout spread; keep only zoneLayout")
			return layout
		}
		r.warnings = append(r.warnings, r.project+":spreadAcrossZones is deprecated: replace it with `"+r.project+":zoneLayout: spread` "+
			"(spreadAcrossZones true is zoneLayout spread; false is zoneLayout single)")
		layout = zones.Spread
	}
	if n := r.zoneTotal(c); n != 0 && n < layout.MinZones() {
		key := "zoneCount"
		if c.ExistingVpcID != "" {
			key = "existingSubnetIds"
		}
		r.fail("zoneLayout", raw, "single or spread with "+strconv.Itoa(n)+" zone(s): split puts origins and edges in two different "+
			"zones, so it needs "+key+" to give at least two")
	}
	return layout
}

// zoneTotal is how many zones have a subnet: the existing subnets, or
// zoneCount as configured (even when out of range, which zoneCount's own
// check reports), or its default of 2.
func (r *reader) zoneTotal(c *Config) int {
	if c.ExistingVpcID != "" {
		return len(c.ExistingSubnetIDs)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(r.str("zoneCount"))); err == nil {
		return n
	}
	return 2
}

// zoneCountOrDefault is how many subnets the Network gives the cluster.
func (c *Config) zoneCountOrDefault() int {
	switch {
	case c.ExistingVpcID != "":
		return len(c.ExistingSubnetIDs)
	case c.ZoneCount == 0:
		return 2
	}
	return c.ZoneCount
}

// roleSubnets are the subnets of the origin and edge groups under the
// configured layout, picked from subnets (one per zone, in zone order).
// The load balancers stay in every subnet whatever the layout.
func (c *Config) roleSubnets(subnets pulumi.StringArrayOutput) (origin, edge pulumi.StringArray) {
	o, e := zones.Place(c.ZoneLayout, c.zoneCountOrDefault())
	pick := func(idx []int) pulumi.StringArray {
		out := make(pulumi.StringArray, len(idx))
		for i, n := range idx {
			out[i] = subnets.Index(pulumi.Int(n))
		}
		return out
	}
	return pick(o), pick(e)
}

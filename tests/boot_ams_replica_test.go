package tests

import (
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// TestAMSOnReplicaSet boots Ant Media Server nodes, unchanged, on the
// stack's three-member replica set, then loses member 0's zone: an origin
// joins through the set's URL and claims the panel (its user store is in
// the cluster database, on the primary); once the primary is gone and the
// set has elected another, an edge still joins, logs in to the panel as the
// stack's administrator through the new primary, and enters service.
func TestAMSOnReplicaSet(t *testing.T) {
	t.Parallel()
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			amsOnReplicaSet(t, tm.timing)
		})
	}
}

func amsOnReplicaSet(t *testing.T, timing sandbox.Timing) {
	c := newBootClusterWith(t, stackScripts(), replicaConfig()).timed(timing)
	set := replicaClusterOf(c)
	f := &failures{t: t}
	defer func() {
		for _, msg := range f.list {
			t.Error(msg)
		}
	}()
	url := c.params[c.urlParam]
	for _, m := range set.members {
		f.check(strings.Contains(url, "@"+m.ip+":27017") || strings.Contains(url, ","+m.ip+":27017"), "the stack's URL %s does not name member %s", redact(url), m.ip)
	}
	// No replicaSet option (Ant Media 3.0.2/3.0.3 refuse "?" and "&"): the
	// driver discovers the set from the host list.
	f.check(!strings.ContainsAny(url, "?&"), "the stack's URL %s has options", redact(url))

	members, _ := set.bootAll(f, []int{0, 1, 2})
	set.checkSet(f, members, "before the AMS nodes")
	if len(f.list) > 0 {
		return
	}

	origin := c.amsNode(components.RoleOrigin, "i-0a1b2c3d4e5f60201", "10.20.0.70")
	c.checkRun(f, c.bootAMS(origin, components.RoleOrigin).Wait(), "the origin's boot script")
	amsServes(f, c, origin, url, "the origin on the full set")
	c.panelIsOurs(f, origin, "after the origin booted on the set")

	// Member 0's zone goes: its instance is gone, the others elect a primary.
	members[0].Terminate()
	primary := -1
	for i, n := range members[1:] {
		if n.MongoReplicaStatus().State == "PRIMARY" {
			primary = i + 1
		}
	}
	f.check(primary > 0, "after member 0 was lost no member is primary: %+v, %+v", members[1].MongoReplicaStatus(), members[2].MongoReplicaStatus())

	edge := c.amsNode(components.RoleEdge, "i-0a1b2c3d4e5f60202", "10.20.0.71")
	res := c.bootAMS(edge, components.RoleEdge).Wait()
	c.checkRun(f, res, "the edge's boot script with member 0 lost")
	amsServes(f, c, edge, url, "the edge with member 0 lost")
	f.check(!strings.Contains(res.Output, "claiming the web panel administrator") && strings.Contains(res.Output, "is this stack's"),
		"the edge did not log in to the claimed panel as the stack's administrator:\n%s", tail(res.Output, 10))
	c.panelIsOurs(f, edge, "after the edge booted with member 0 lost")
	for _, i := range []int{1, 2} {
		docs, err := members[i].MongoDocs("serverdb", "user")
		f.check(err == nil && len(docs) == 1 && docs[0]["email"] == c.panelEmail,
			"member %d holds panel users %v (%v), want the stack's administrator", i, docs, err)
	}
}

// amsServes checks that an AMS node switched to cluster mode with the
// stack's URL as it is, and completed its launch into service.
func amsServes(f *failures, c *bootCluster, n *sandbox.Node, url, who string) {
	mode, got := n.AMSMode()
	f.check(mode == "cluster" && got == url, "%s runs in mode %q with database %q, want cluster mode with the stack's URL %q", who, mode, redact(got), redact(url))
	f.check(joins(n) == 1, "%s switched to cluster mode %d times, want once", who, joins(n))
	c.continued(f, n, who)
}

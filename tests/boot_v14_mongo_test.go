package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// The replica set's boot scripts of stop 14 (testdata/v14) against the
// stricter mongod model: a member restarted with a stored configuration
// answers NotYetInitialized while it loads it, and user writes wait for a
// majority of members (the implicit write concern since MongoDB 5.0 has no
// timeout). Each defect must break the property that names it on stop 14's
// scripts, and the stack's scripts must pass the same scenario.

// v14MemberScripts gives the cluster's members stop 14's rendered scripts.
func (c *replicaCluster) v14MemberScripts() {
	for i := range c.members {
		c.members[i].script = v14Script(c.t, fmt.Sprintf("mongo-member-%d.sh", i))
	}
}

// replicaMongoDefects are the scenarios, by the defect each one catches.
func replicaMongoDefects() []struct {
	defect   string
	scenario func(c *replicaCluster) []string
	want     string
} {
	return []struct {
		defect   string
		scenario func(c *replicaCluster) []string
		want     string
	}{
		{"the initiator reads a loading member as never initiated", replicaAllReplacedAtOnce, "the replaced initiator's boot exited"},
		{"user writes wait without end on lagging secondaries", replicaLaggingSecondaries, "waits forever"},
	}
}

func TestSandboxCatchesV14MongoDefects(t *testing.T) {
	for _, tc := range replicaMongoDefects() {
		t.Run(tc.defect, func(t *testing.T) {
			t.Parallel()
			c := newReplicaCluster(t)
			c.v14MemberScripts()
			got := tc.scenario(c)
			if !slices.ContainsFunc(got, func(f string) bool { return strings.Contains(f, tc.want) }) {
				t.Errorf("the sandbox did not catch %q on stop 14's scripts: no failure mentions %q; failures:\n  %s", tc.defect, tc.want, strings.Join(got, "\n  "))
			}
		})
		t.Run(tc.defect+" (fixed)", func(t *testing.T) {
			t.Parallel()
			for _, f := range tc.scenario(newReplicaCluster(t)) {
				t.Error(f)
			}
		})
	}
}

// replicaAllReplacedAtOnce: every member's instance is replaced at once (a
// change of their user data), each keeping its volume and address. The new
// members 1 and 2 start mongod on their stored configuration and load it;
// the new initiator must neither initiate nor fail meanwhile.
func replicaAllReplacedAtOnce(c *replicaCluster) []string {
	f := &failures{t: c.t}
	nodes, outs := c.bootAll(f, []int{1, 2, 0})
	c.checkSet(f, nodes, "before the replacements")
	if len(f.list) > 0 {
		return f.list
	}
	for _, n := range nodes {
		n.Terminate()
	}
	for _, i := range []int{1, 2} {
		nodes[i] = c.node(i, fmt.Sprintf("i-0f1e2d3c4b5a7000%d", i))
		outs = append(outs, c.wait(f, c.boot(i, nodes[i]), fmt.Sprintf("member %d's replacement", i)))
	}
	nodes[0] = c.node(0, "i-0f1e2d3c4b5a70000")
	res := c.boot(0, nodes[0]).Wait()
	f.check(res.Err == nil, "the replaced initiator's boot exited %d:\n%s", res.ExitCode, tail(res.Output, 12))
	outs = append(outs, res.Output)
	f.check(initiations(outs...) == 1, "the set was initiated %d times, want once", initiations(outs...))
	c.checkSet(f, nodes, "after every member was replaced")
	return f.list
}

// replicaLaggingSecondaries: both secondaries stop applying for two
// minutes when the set is initiated (an initial sync on slow disks): the
// initiator's user writes through the primary cannot reach a majority
// until then, and must neither wait without end nor give up too early.
func replicaLaggingSecondaries(c *replicaCluster) []string {
	f := &failures{t: c.t}
	nodes := []*sandbox.Node{c.node(0, ""), c.node(1, ""), c.node(2, "")}
	for _, n := range nodes[1:] {
		n.SetMongoApplyLag(120)
	}
	outs := make([]string, 3)
	for _, i := range []int{1, 2} {
		outs[i] = c.wait(f, c.boot(i, nodes[i]), fmt.Sprintf("member %d's boot", i))
	}
	res := c.boot(0, nodes[0]).Wait()
	f.check(res.Err == nil, "the initiator's boot exited %d:\n%s", res.ExitCode, tail(res.Output, 12))
	outs[0] = res.Output
	f.check(initiations(outs...) == 1, "the set was initiated %d times, want once", initiations(outs...))
	c.checkSet(f, nodes, "after a boot with lagging secondaries")
	return f.list
}

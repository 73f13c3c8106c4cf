package tests

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
)

// Scenarios of issue 19, items 3 and 4: the cluster forgets departed nodes
// and Spot edges drain on an interruption notice. The rendered user data,
// node and agent programs run against Ant Media's cluster node list
// (ClusterRestServiceV2), IMDSv2's Spot notices and the Auto Scaling
// stand-in, with the edges on Spot (edgeCapacity spot: the edge role may
// terminate its own group's instances).

// TestDepartedNodesAndSpotInterruption runs, in one cluster: an edge
// killed without draining is removed from the cluster list by the next
// node that starts, once its heartbeat is long silent, while the live
// origin is kept; that node, a Spot edge, is given the two-minute notice:
// it leaves its target groups at once (a replacement launches), lets its
// viewers finish within the time left and, drained, removes itself from
// the cluster list before the interruption. (The scale-in drain runs the
// same drain: tests/boot's drain scenarios go through it.)
func TestDepartedNodesAndSpotInterruption(t *testing.T) {
	t.Parallel()
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			c := newBootClusterWith(t, stackScripts(), map[string]string{"edgeCapacity": "spot"}).timed(tm.timing)
			f := &failures{t: t}
			defer func() {
				for _, msg := range f.list {
					t.Error(msg)
				}
			}()
			departedNodes(c, f)
		})
	}
}

// anotherServingNode boots one more node of role into service, in a
// cluster whose MongoDB serves already (servingNode boots it first).
func (c *bootCluster) anotherServingNode(f *failures, role, id, ip string) *sandbox.Node {
	n := c.amsNode(role, id, ip)
	c.checkRun(f, c.bootAMS(n, role).Wait(), "the "+role+"'s boot script")
	f.check(c.inService(n.ID), "the %s is in state %s, want InService", role, c.w.AWS.LifecycleState(n.ID))
	c.checkUnit(f, n, "ams-agent.service", "once the node serves")
	return n
}

func departedNodes(c *bootCluster, f *failures) {
	origin := c.servingNode(f, components.RoleOrigin, "i-0a1b2c3d4e5f60171", "10.20.0.71")
	killed := c.anotherServingNode(f, components.RoleEdge, "i-0a1b2c3d4e5f60173", "10.20.0.73")
	_, db := origin.AMSMode()
	listed := func() []string {
		ips, err := antmedia.ClusterNodeIPs(c.w.Dir(), db)
		f.check(err == nil, "reading the cluster list: %v", err)
		return ips
	}
	f.check(slices.Equal(listed(), []string{"10.20.0.71", "10.20.0.73"}), "serving nodes listed %v, want both", listed())

	// A node killed without draining stays listed; once its heartbeat has
	// been silent for long, the next node to start removes it, and no live
	// node.
	killed.Terminate()
	f.check(slices.Contains(listed(), "10.20.0.73"), "the killed edge left the list by itself")
	if err := antmedia.AdvanceWallClock(c.w.Dir(), 20*60); err != nil {
		f.check(false, "advancing the wall clock: %v", err)
	}
	starter := c.anotherServingNode(f, components.RoleEdge, "i-0a1b2c3d4e5f60174", "10.20.0.74")
	f.check(waitFor(60*time.Second, func() bool { return !slices.Contains(listed(), "10.20.0.73") }),
		"the starting edge did not remove the dead one: %v\n%s", listed(), tail(starter.Journal("ams-agent.service"), 8))
	f.check(slices.Equal(listed(), []string{"10.20.0.71", "10.20.0.74"}), "after the sweep the list is %v, want the live origin and the starter", listed())

	// The starter, on Spot, is interrupted: it drains and removes itself.
	spotInterruption(c, f, starter, listed)
}

// spotInterruption gives a serving Spot edge the two-minute notice.
func spotInterruption(c *bootCluster, f *failures, n *sandbox.Node, listed func() []string) {
	group := c.groups[components.RoleEdge]
	now := n.Clock()
	n.AMS().SetStreams(now, sandbox.AMSStream{App: "WebRTCAppEE", ID: "match", WebRTCViewers: 4})
	n.AMS().SetStreams(now+30, sandbox.AMSStream{App: "WebRTCAppEE", ID: "match", WebRTCViewers: 1})
	n.AMS().SetStreams(now + 50)
	before := len(n.Journal("ams-agent.service"))
	f.check(c.w.AWS.InTargetGroups(n.ID), "the edge is not in rotation before the notice")
	n.IMDS().InterruptSpot(time.Now().Add(2 * time.Minute))

	f.check(waitFor(30*time.Second, func() bool { return !c.w.AWS.InTargetGroups(n.ID) }), "the edge stayed in rotation after the notice:\n%s",
		tail(n.Journal("ams-agent.service")[before:], 8))
	f.check(c.w.AWS.Relaunches(group) == 1, "the group launched %d replacements, want 1 (desired capacity kept)", c.w.AWS.Relaunches(group))
	f.check(n.Clock() < now+components.AgentIntervalSeconds*2, "the edge left rotation at %d s, want within one agent interval", n.Clock()-now)

	f.check(waitFor(90*time.Second, func() bool { return !slices.Contains(listed(), n.PrivateIP) }), "the interrupted edge never left the cluster list:\n%s",
		tail(n.Journal("ams-agent.service")[before:], 8))
	end := n.Clock()
	f.check(end >= now+50 && end < now+120, "the drain ended at %d s, want after the last viewer left (50 s) and before the interruption (120 s)", end-now)
	// EC2 takes the instance back at the notice's time, whether or not the
	// terminating hook's wait has begun (the deregistration delay may be
	// longer than the notice).
	n.Terminate()
	f.check(!c.w.AWS.InTargetGroups(n.ID), "the interrupted edge is back in rotation")
	out := n.Journal("ams-agent.service")[before:]
	for _, want := range []string{"Spot interruption", "leaving the target groups at once", "drained after"} {
		f.check(strings.Contains(out, want), "the agent does not log %q:\n%s", want, tail(out, 10))
	}
	f.check(slices.Contains(listed(), "10.20.0.71"), "the live origin was removed: %v", listed())
	for _, call := range c.w.AWS.Calls() {
		if call.Action == "TerminateInstanceInAutoScalingGroup" {
			f.check(call.Allowed && call.Error == "", "the edge role may not leave its group: %v %q", call.Allowed, call.Error)
		}
	}
}

package tests

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// Scenarios of routing health and replacement health (docs/capacity.md):
// the dev stack's edge boots for real; its target group probes the agent's
// health endpoint as the stack configured it (the sandbox's ALB model:
// interval, thresholds, fail-open), and its group replaces instances by the
// HealthCheckType and grace period the stack gave it.

// capacityCluster is a boot cluster whose edge group sits behind its
// target group.
type capacityCluster struct {
	*bootCluster
	targetGroup string
	health      sandbox.TargetGroupHealth
	grace       int
	downReplace int
}

// scenarioDownReplace is the scenarios' amsDownReplaceSeconds.
const scenarioDownReplace = 120

// newCapacityCluster deploys the dev stack and wires the edge group's
// health checks as the stack registered them; checkType, when set,
// replaces the group's HealthCheckType (a mutation).
func newCapacityCluster(t *testing.T, timing sandbox.Timing, scripts scriptSet, checkType string) *capacityCluster {
	t.Helper()
	// The shortest grace period and down time the stack accepts keep the
	// scenarios' virtual minutes few.
	c := &capacityCluster{bootCluster: newBootClusterWith(t, scripts, map[string]string{
		"healthCheckGraceSeconds": "60", "amsDownReplaceSeconds": strconv.Itoa(scenarioDownReplace),
	}).timed(timing)}
	tg := c.r.one(t, "aws:lb/targetGroup:TargetGroup", "-"+components.RoleEdge)
	port, err := strconv.Atoi(tg.str("healthCheck.port"))
	if err != nil {
		t.Fatalf("the edge target group probes port %q, want a number", tg.str("healthCheck.port"))
	}
	c.health = sandbox.TargetGroupHealth{
		Port: port, Path: tg.str("healthCheck.path"),
		Interval: int(tg.num("healthCheck.interval")), Timeout: int(tg.num("healthCheck.timeout")),
		HealthyThreshold: int(tg.num("healthCheck.healthyThreshold")), UnhealthyThreshold: int(tg.num("healthCheck.unhealthyThreshold")),
	}
	asg := c.r.one(t, "aws:autoscaling/group:Group", "-"+components.RoleEdge)
	if checkType == "" {
		checkType = asg.str("healthCheckType")
	}
	c.grace = int(asg.num("healthCheckGracePeriod"))
	group := c.groups[components.RoleEdge]
	c.w.AWS.SetGroupHealthCheck(group, checkType, c.grace)
	c.targetGroup = tg.Name
	c.w.AWS.AddTargetGroup(c.targetGroup, group, c.health)
	c.downReplace = scenarioDownReplace
	return c
}

// servingEdge boots an edge into service, with MongoDB up, and waits for
// its target to turn healthy.
func (c *capacityCluster) servingEdge(f *failures, id, ip string) *sandbox.Node {
	c.checkRun(f, c.bootMongo(c.mongoNode(c.mongoID, 5)), "the MongoDB boot script")
	n := c.amsNode(components.RoleEdge, id, ip)
	c.checkRun(f, c.bootAMS(n, components.RoleEdge).Wait(), "the edge's boot script")
	f.check(c.inService(n.ID), "the edge is in state %s, want InService", c.w.AWS.LifecycleState(n.ID))
	f.check(c.waitTarget(n, sandbox.TargetHealthy), "the serving edge's target never turned healthy: %v\n%s",
		c.w.AWS.TargetChanges(c.targetGroup, n.ID), tail(n.Journal("ams-agent.service"), 8))
	return n
}

// waitTarget waits, for a bounded real time, for the node's target state.
func (c *capacityCluster) waitTarget(n *sandbox.Node, state string) bool {
	return waitFor(180*time.Second, func() bool { return c.w.AWS.TargetHealth(c.targetGroup, n.ID) == state })
}

// changedAt is when, on the node's clock, its target last turned state.
func (c *capacityCluster) changedAt(n *sandbox.Node, state string) int {
	at := -1
	for _, ch := range c.w.AWS.TargetChanges(c.targetGroup, n.ID) {
		if ch.State == state {
			at = ch.At
		}
	}
	return at
}

// waitClock lets the node's clock pass second at; false at once when
// the node has terminated, its clock stopped.
func (c *capacityCluster) waitClock(n *sandbox.Node, at int) bool {
	waitFor(240*time.Second, func() bool { return n.Clock() >= at || c.w.AWS.LifecycleState(n.ID) == "Terminated" })
	return n.Clock() >= at
}

// routeBound is how long a node's change of capacity takes to change its
// routing, on its clock: up to two agent readings (CPU is measured between
// two readings), then the target group's threshold of probes, one interval
// apart, plus one interval for the probe schedule.
func (c *capacityCluster) routeBound(threshold int) int {
	return 2*components.AgentIntervalSeconds + (threshold+1)*c.health.Interval
}

// underBothTimings runs a scenario on a fresh cluster under each timing.
func underBothTimings(t *testing.T, scenario func(*capacityCluster) []string) {
	t.Parallel()
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			c := newCapacityCluster(t, tm.timing, stackScripts(), "")
			for _, msg := range scenario(c) {
				t.Error(msg)
			}
		})
	}
}

func TestFullNodeLeavesRotationAndIsKept(t *testing.T) {
	underBothTimings(t, fullNodeLeavesRotationAndIsKept)
}

// fullNodeLeavesRotationAndIsKept loads a serving edge past Ant Media's CPU
// limit: it leaves rotation within the routing bound and stays in service,
// past the group's grace period; at a load between the resume threshold
// and the limit it stays out (hysteresis); below the resume threshold it
// comes back.
func fullNodeLeavesRotationAndIsKept(c *capacityCluster) []string {
	f := &failures{t: c.t}
	n := c.servingEdge(f, "i-0c0a0000000000001", "10.20.0.80")
	if len(f.list) > 0 {
		return f.list
	}
	journal := func() string { return tail(n.Journal("ams-agent.service"), 10) }
	// Ant Media refuses new sessions from server.cpu_limit (75 %) on.
	full := n.Clock()
	n.SetLoad(full, 90, 40)
	f.check(c.waitTarget(n, sandbox.TargetUnhealthy), "the edge at 90%% CPU never left rotation: %v\n%s", c.w.AWS.TargetChanges(c.targetGroup, n.ID), journal())
	out := c.changedAt(n, sandbox.TargetUnhealthy)
	f.check(out >= full && out-full <= c.routeBound(c.health.UnhealthyThreshold),
		"the full edge left rotation %d s after its load rose at %d s, want within %d s: %v\n%s", out-full, full, c.routeBound(c.health.UnhealthyThreshold),
		c.w.AWS.TargetChanges(c.targetGroup, n.ID), journal())
	f.check(strings.Contains(n.Journal("ams-agent.service"), "out of rotation (full): CPU"), "the agent does not log why the node left rotation:\n%s", journal())
	if len(f.list) > 0 {
		return f.list
	}
	// Kept, and its streams with it, long past the grace period.
	f.check(c.waitClock(n, full+c.grace+30), "the edge's clock did not reach %d s", full+c.grace+30)
	_, marked := c.w.AWS.UnhealthyAt(n.ID)
	f.check(c.inService(n.ID) && !marked, "the full edge is %s (marked unhealthy: %v), want kept InService", c.w.AWS.LifecycleState(n.ID), marked)
	f.check(c.w.AWS.TargetHealth(c.targetGroup, n.ID) == sandbox.TargetUnhealthy, "the full edge is back in rotation while still full")
	if len(f.list) > 0 {
		return f.list
	}
	// 70 % CPU is 93 % of Ant Media's limit: below it, above the 85 %
	// resume threshold. The node stays out for as long as that lasts.
	between := n.Clock()
	n.SetLoad(between, 70, 40)
	f.check(c.waitClock(n, between+c.routeBound(c.health.HealthyThreshold)+30), "the edge's clock did not move on")
	f.check(c.changedAt(n, sandbox.TargetHealthy) < between, "the edge came back at 93%% of Ant Media's CPU limit, above the resume threshold: it would flap\n%s", journal())
	if len(f.list) > 0 {
		return f.list
	}
	// 40 % CPU is 53 % of the limit: back in rotation.
	low := n.Clock()
	n.SetLoad(low, 40, 40)
	f.check(c.waitTarget(n, sandbox.TargetHealthy), "the edge at 40%% CPU never came back: %v\n%s", c.w.AWS.TargetChanges(c.targetGroup, n.ID), journal())
	back := c.changedAt(n, sandbox.TargetHealthy)
	f.check(back >= low && back-low <= c.routeBound(c.health.HealthyThreshold),
		"the edge came back %d s after its load fell, want within %d s", back-low, c.routeBound(c.health.HealthyThreshold))
	f.check(slices.Contains(c.w.AWS.Routed(c.targetGroup), n.ID), "the recovered edge gets no new sessions")
	f.check(c.inService(n.ID) && len(c.w.AWS.Replacements(c.groups[components.RoleEdge])) == 0, "the edge was replaced: %v", c.w.AWS.Replacements(c.groups[components.RoleEdge]))
	return f.list
}

func TestDeadNodeIsReplacedWithinBound(t *testing.T) {
	underBothTimings(t, deadNodeIsReplaced)
}

// deadNodeIsReplaced breaks a serving edge's Ant Media Server for good: the
// node leaves rotation at once, its agent tries restarts (logged), then
// marks its instance unhealthy; the group terminates it through the drain
// hook and replaces it, within amsDownReplaceSeconds plus two readings.
func deadNodeIsReplaced(c *capacityCluster) []string {
	f := &failures{t: c.t}
	n := c.servingEdge(f, "i-0c0a0000000000002", "10.20.0.81")
	if len(f.list) > 0 {
		return f.list
	}
	// The agent asks for the replacement amsDownReplaceSeconds later, past
	// the group's grace period (60 s here): Auto Scaling would ignore it
	// within.
	died := n.BreakAMS()
	f.check(c.waitTarget(n, sandbox.TargetUnhealthy), "the edge with a dead Ant Media Server never left rotation")
	out := c.changedAt(n, sandbox.TargetUnhealthy)
	f.check(out-died <= c.routeBound(c.health.UnhealthyThreshold), "the dead edge left rotation %d s after it died, want within %d s", out-died, c.routeBound(c.health.UnhealthyThreshold))
	group := c.groups[components.RoleEdge]
	replaced := waitFor(240*time.Second, func() bool { return slices.Contains(c.w.AWS.Replacements(group), n.ID) })
	// The agent logs once AWS has answered.
	waitFor(10*time.Second, func() bool { return strings.Contains(n.Journal("ams-agent.service"), "marked the instance unhealthy") })
	journal := n.Journal("ams-agent.service")
	f.check(replaced, "the dead edge was never replaced:\n%s", tail(journal, 12))
	at, _ := c.w.AWS.UnhealthyAt(n.ID)
	bound := c.downReplace + 2*components.AgentIntervalSeconds
	f.check(!replaced || at-died >= c.downReplace && at-died <= bound,
		"the dead edge was marked unhealthy %d s after it died, want after amsDownReplaceSeconds (%d s), within %d s", at-died, c.downReplace, bound)
	for _, want := range []string{"restart attempt 1", "restart attempt 2", "marked the instance unhealthy"} {
		f.check(strings.Contains(journal, want), "the agent does not log %q:\n%s", want, tail(journal, 12))
	}
	f.check(waitFor(60*time.Second, func() bool { return c.w.AWS.LifecycleState(n.ID) == "Terminated" }),
		"the unhealthy edge is %s, want Terminated through its drain hook", c.w.AWS.LifecycleState(n.ID))
	for _, call := range c.w.AWS.Calls() {
		if call.Action == "SetInstanceHealth" {
			f.check(call.Allowed && call.Error == "", "SetInstanceHealth was %v with error %q: the edge's role must allow it on its own group", call.Allowed, call.Error)
		}
	}
	return f.list
}

// TestMutationsFailTheScenarios runs the scenarios against what the issue
// replaced: a group that replaces on the load balancer's verdict (ELB)
// terminates the full node; an agent without hysteresis brings the node
// back at 93 % of Ant Media's limit. The instant timing only: the
// mutations do not touch what the adversarial timing delays, and the
// package must fit its time.
func TestMutationsFailTheScenarios(t *testing.T) {
	t.Parallel()
	for _, tm := range timings()[:1] {
		t.Run(tm.name+"/ELB", func(t *testing.T) {
			t.Parallel()
			c := newCapacityCluster(t, tm.timing, stackScripts(), "ELB")
			got := fullNodeLeavesRotationAndIsKept(c)
			if replaced := c.w.AWS.Replacements(c.groups[components.RoleEdge]); len(got) == 0 || len(replaced) == 0 {
				t.Errorf("with HealthCheckType ELB the scenario reports %q and the group replaced %v, want the edge replaced for its load balancer verdict", got, replaced)
			}
		})
		t.Run(tm.name+"/no-hysteresis", func(t *testing.T) {
			t.Parallel()
			c := newCapacityCluster(t, tm.timing, withoutHysteresis(), "")
			if got := fullNodeLeavesRotationAndIsKept(c); !anyContains(got, "it would flap") {
				t.Errorf("without hysteresis the scenario reports %q, want the node back above the resume threshold", got)
			}
		})
	}
}

// withoutHysteresis is the stack's scripts with the agent's resume
// threshold at the limit itself.
func withoutHysteresis() scriptSet {
	s := stackScripts()
	ams := s.ams
	s.name = "no-hysteresis"
	s.ams = func(c *bootCluster, role string) string {
		script := ams(c, role)
		mutated := strings.Replace(script, "readonly RESUME_PERCENT='85'", "readonly RESUME_PERCENT='100'", 1)
		if mutated == script {
			c.t.Fatal("the agent has no RESUME_PERCENT='85' to mutate")
		}
		return mutated
	}
	return s
}

func anyContains(list []string, part string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.Contains(s, part) })
}

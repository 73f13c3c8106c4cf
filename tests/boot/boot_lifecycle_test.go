package tests

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// Scenarios of warm pools, the agent and the drain: the rendered user data,
// node and agent programs run against IMDSv2 lifecycle states, Ant Media's
// application REST API with streams over time, and the AWS stand-in.

// warmNode launches a node of role into the warm pool and runs its user
// data. Nobody else completes its launch: if the node left it open, the
// hook's heartbeat timeout passes and its default result applies.
func (c *bootCluster) warmNode(f *failures, role, id, ip string) *sandbox.Node {
	spec := c.amsSpec(role, id, ip)
	c.w.AWS.LaunchWarm(spec.Group, id)
	n := c.w.NewNode(spec)
	c.checkRun(f, c.bootAMS(n, role).Wait(), "the user data of a warming node")
	if c.w.AWS.OpenLifecycleAction(id) {
		c.w.AWS.ExpireHook(id)
	}
	return n
}

// servingNode boots a node of role into service, with MongoDB up.
func (c *bootCluster) servingNode(f *failures, role, id, ip string) *sandbox.Node {
	c.checkRun(f, c.bootMongo(c.mongoNode(c.mongoID, 5)), "the MongoDB boot script")
	n := c.amsNode(role, id, ip)
	c.checkRun(f, c.bootAMS(n, role).Wait(), "the "+role+"'s boot script")
	f.check(c.inService(n.ID), "the %s is in state %s, want InService", role, c.w.AWS.LifecycleState(n.ID))
	c.checkUnit(f, n, "ams-agent.service", "once the node serves")
	f.check(n.UnitEnabled("ams-agent.service"), "the agent is not enabled once the node serves")
	return n
}

func warmingNeverJoins(c *bootCluster) []string {
	f := &failures{t: c.t}
	c.checkRun(f, c.bootMongo(c.mongoNode(c.mongoID, 5)), "the MongoDB boot script")
	n := c.warmNode(f, components.RoleEdge, "i-0a1b2c3d4e5f60101", "10.20.0.60")
	check := func(when string) {
		mode, _ := n.AMSMode()
		f.check(mode != "cluster" && joins(n) == 0, "%s: the warming node joined the cluster", when)
		users, _ := n.AMS().Users()
		f.check(len(users) == 0, "%s: the warming node claimed the panel", when)
		f.check(!n.UnitActive("ams-agent.service"), "%s: the agent runs on a warming node", when)
		for _, m := range c.w.AWS.Metrics() {
			f.check(m.Dimensions["AutoScalingGroupName"] != c.groups[components.RoleEdge], "%s: a warming node put metrics", when)
		}
	}
	check("after the user data")
	f.check(c.w.AWS.LifecycleState(n.ID) == "Warmed:Stopped" && c.w.AWS.LifecycleResult(n.ID) == "CONTINUE",
		"the warming node is %s after %q, want Warmed:Stopped after completing its launch with CONTINUE", c.w.AWS.LifecycleState(n.ID), c.w.AWS.LifecycleResult(n.ID))
	f.check(n.UnitEnabled("ams-node.service"), "ams-node.service is not enabled: leaving the pool would not join")
	// A start inside the pool (a Running pool, a restart) still only warms.
	n.Reboot(0)
	checkBoot(f, n, "a start in the pool")
	c.checkUnit(f, n, "ams-node.service", "a start in the pool")
	journal := n.Journal("ams-node.service")
	f.check(strings.Contains(journal, "warming"), "the node does not log that it is warming:\n%s", tail(journal, 5))
	check("after a start in the pool")
	return f.list
}

func leavingThePoolJoinsOnce(c *bootCluster) []string {
	f := &failures{t: c.t}
	c.checkRun(f, c.bootMongo(c.mongoNode(c.mongoID, 5)), "the MongoDB boot script")
	n := c.warmNode(f, components.RoleEdge, "i-0a1b2c3d4e5f60102", "10.20.0.61")
	// Scale-out takes the node from the pool: it starts, and its launching
	// hook holds it again until it has joined.
	c.w.AWS.SetLifecycleState(n.ID, "Pending:Wait")
	n.Reboot(0)
	checkBoot(f, n, "leaving the pool")
	c.checkUnit(f, n, "ams-node.service", "on leaving the pool")
	c.agentServes(f, n, "after leaving the pool")
	mode, url := n.AMSMode()
	f.check(mode == "cluster" && url == c.params[c.urlParam], "after leaving the pool the node runs in mode %q, want cluster mode with the stack's URL", mode)
	f.check(c.inService(n.ID) && c.w.AWS.LifecycleResult(n.ID) == "CONTINUE", "after leaving the pool the node is %s, want InService", c.w.AWS.LifecycleState(n.ID))
	c.panelIsOurs(f, n, "after leaving the pool")
	f.check(n.UnitEnabled("ams-agent.service"), "the agent is not enabled once the node serves")
	// A later restart in service does not switch modes again.
	before := len(n.Journal("ams-node.service"))
	n.Reboot(0)
	checkBoot(f, n, "a restart in service")
	c.checkUnit(f, n, "ams-node.service", "at a restart in service")
	c.agentServes(f, n, "after a restart in service")
	f.check(joins(n) == 1, "the node switched to cluster mode %d times, want once", joins(n))
	journal := n.Journal("ams-node.service")[before:]
	f.check(strings.Contains(journal, "already in the cluster"), "a restart in service does not say the node is in the cluster already:\n%s", tail(journal, 5))
	return f.list
}

// rebootedNodeStartsItsAgent reboots a serving node: its units start in
// order, nothing deadlocks, and its agent runs and puts metrics again.
func rebootedNodeStartsItsAgent(c *bootCluster) []string {
	f := &failures{t: c.t}
	n := c.servingNode(f, components.RoleOrigin, "i-0a1b2c3d4e5f60107", "10.20.0.66")
	n.Reboot(0)
	checkBoot(f, n, "the reboot of a serving node")
	c.checkUnit(f, n, "ams-node.service", "after the reboot")
	c.agentServes(f, n, "after the reboot")
	return f.list
}

// agentServes checks that the node's agent is active and puts the node's
// metrics into its group, from now on.
func (c *bootCluster) agentServes(f *failures, n *sandbox.Node, when string) {
	c.checkUnit(f, n, "ams-agent.service", when)
	group := n.Group
	count := func() int {
		k := 0
		for _, m := range c.w.AWS.Metrics() {
			if m.Dimensions["AutoScalingGroupName"] == group && m.Name == components.MetricViewers {
				k++
			}
		}
		return k
	}
	seen := count()
	f.check(waitFor(60*time.Second, func() bool { return count() > seen }), "%s: the agent puts no metrics for %s", when, group)
}

// terminate starts a scale-in of the node and waits for its running agent
// to complete the terminating hook; it returns what the agent logged
// since, and the drain's length the agent logged.
func (c *bootCluster) terminate(f *failures, n *sandbox.Node) (string, int) {
	before := len(n.Journal("ams-agent.service"))
	c.w.AWS.SetLifecycleState(n.ID, "Terminating:Wait")
	done := waitFor(120*time.Second, func() bool { return c.w.AWS.LifecycleState(n.ID) == "Terminated" })
	out := n.Journal("ams-agent.service")[before:]
	f.check(done, "the agent never completed the terminating hook:\n%s", tail(out, 10))
	took := -1
	if m := drainLength.FindStringSubmatch(out); m != nil {
		took, _ = strconv.Atoi(m[1])
	}
	return out, took
}

// drainLength reads how long a drain took from the agent's log.
var drainLength = regexp.MustCompile(`(?:drained after |drain window of )(\d+)s`)

func drainWaitsForViewers(c *bootCluster) []string {
	f := &failures{t: c.t}
	n := c.servingNode(f, components.RoleEdge, "i-0a1b2c3d4e5f60103", "10.20.0.62")
	now := n.Clock()
	n.AMS().SetStreams(now, sandbox.AMSStream{App: "WebRTCAppEE", ID: "concert", WebRTCViewers: 3, HLSViewers: 40})
	n.AMS().SetStreams(now+30, sandbox.AMSStream{App: "WebRTCAppEE", ID: "concert", WebRTCViewers: 1})
	n.AMS().SetStreams(now + 40)
	res, _ := c.terminate(f, n)
	// The agent runs from boot, so the node's clock moves between the
	// timeline above and the termination: the drain must end once the
	// last viewer left (now+40), within drainSeconds of the termination.
	end := n.Clock()
	f.check(end >= now+40 && end < now+40+60, "the drain ended at %d s, want after the last viewer left at %d s and within drainSeconds (60)", end-now, 40)
	f.check(strings.Contains(res, "waiting for 0 publishers and 3 viewers"), "the agent does not log what it waits for:\n%s", tail(res, 8))
	// With a lagging metadata item the agent notices the termination late.
	drained := "drained after 40s"
	if c.w.Timing().TargetStateLag > 0 {
		drained = "drained after "
	}
	f.check(strings.Contains(res, drained), "the agent does not log the end of the drain:\n%s", tail(res, 8))
	f.check(c.w.AWS.LifecycleResult(n.ID) == "CONTINUE" && c.w.AWS.LifecycleState(n.ID) == "Terminated",
		"after the drain the node is %s after %q, want Terminated after CONTINUE", c.w.AWS.LifecycleState(n.ID), c.w.AWS.LifecycleResult(n.ID))
	var viewers []float64
	for _, m := range c.w.AWS.Metrics() {
		if m.Name == components.MetricViewers && m.Dimensions["AutoScalingGroupName"] == c.groups[components.RoleEdge] {
			f.check(m.Namespace == "ams-cluster/dev/edge" && m.StorageResolution == 1, "viewers put into %s at resolution %d, want ams-cluster/dev/edge at 1 s", m.Namespace, m.StorageResolution)
			viewers = append(viewers, m.Value)
		}
	}
	f.check(len(viewers) >= 3 && slices.Contains(viewers, 3), "the agent put viewers %v, want the node's own WebRTC players, 3 among them", viewers)
	return f.list
}

func drainEndsAtDrainSeconds(c *bootCluster) []string {
	f := &failures{t: c.t}
	n := c.servingNode(f, components.RoleEdge, "i-0a1b2c3d4e5f60104", "10.20.0.63")
	n.AMS().SetStreams(n.Clock(), sandbox.AMSStream{App: "LiveApp", ID: "forever", WebRTCViewers: 2})
	res, took := c.terminate(f, n)
	// The window starts when the agent notices the termination: at once, or
	// at its first reading after a lagging metadata item caught up.
	lag := c.w.Timing().TargetStateLag
	f.check(took == 60 || lag > 0 && took >= 60 && took <= 60+lag+components.AgentIntervalSeconds,
		"the drain took %d s, want drainSeconds, 60, after the agent noticed the termination (metadata lag %d s)", took, lag)
	f.check(strings.Contains(res, "drain window of 60s over: 0 publishers and 2 viewers"), "the agent does not log who was still there:\n%s", tail(res, 8))
	f.check(c.w.AWS.LifecycleResult(n.ID) == "CONTINUE" && c.w.AWS.LifecycleState(n.ID) == "Terminated",
		"after the drain window the node is %s after %q, want Terminated after CONTINUE", c.w.AWS.LifecycleState(n.ID), c.w.AWS.LifecycleResult(n.ID))
	f.check(c.w.AWS.Heartbeats(n.ID) == 1, "the agent recorded %d heartbeats, want one past half the window", c.w.AWS.Heartbeats(n.ID))
	return f.list
}

func originWithPublisherIsProtected(c *bootCluster) []string {
	f := &failures{t: c.t}
	n := c.servingNode(f, components.RoleOrigin, "i-0a1b2c3d4e5f60105", "10.20.0.64")
	now := n.Clock()
	n.AMS().SetStreams(now, sandbox.AMSStream{App: "WebRTCAppEE", ID: "keynote", Publisher: true, WebRTCViewers: 5})
	n.AMS().SetStreams(now + 30)
	before := len(n.Journal("ams-agent.service"))
	// Real-time bounds: the world's 30 s pass only as fast as the node's
	// programs run, slowly on two busy cores.
	f.check(waitFor(90*time.Second, func() bool { return c.w.AWS.Protected(n.ID) }), "the origin with a publisher was never protected from scale-in")
	f.check(waitFor(90*time.Second, func() bool { return !c.w.AWS.Protected(n.ID) }), "the origin stayed protected after its last publisher left")
	c.w.AWS.SetLifecycleState(n.ID, "Terminating:Wait")
	f.check(waitFor(120*time.Second, func() bool { return c.w.AWS.LifecycleState(n.ID) == "Terminated" }), "the origin's agent never completed the terminating hook")
	res := n.Journal("ams-agent.service")[before:]
	f.check(strings.Contains(res, "protected from scale-in: 1 publishers") && strings.Contains(res, "no longer protected"),
		"the agent does not log its protection changes:\n%s", tail(res, 8))
	for _, call := range c.w.AWS.Calls() {
		if call.Action == "SetInstanceProtection" || call.Action == "PutMetricData" {
			f.check(call.Allowed && call.Error == "", "%s was %v with error %q: the node's role must allow it", call.Action, call.Allowed, call.Error)
		}
	}
	return f.list
}

// nodeWritesOnlyItsOwn calls, from a serving edge with its instance role,
// what its agent must not do: metrics into another namespace, protection
// and lifecycle actions in the origin group. IAM must refuse each
// (awsapi.py exit 6: a refusal of the instance's credentials).
func nodeWritesOnlyItsOwn(c *bootCluster) []string {
	f := &failures{t: c.t}
	n := c.servingNode(f, components.RoleEdge, "i-0a1b2c3d4e5f60106", "10.20.0.65")
	other := c.groups[components.RoleOrigin]
	script := `#!/bin/bash
export AWSAPI_IMDS=http://169.254.169.254 AWSAPI_REGION=` + region + `
export AWSAPI_SSM=https://ssm.` + region + `.amazonaws.com AWSAPI_AUTOSCALING=https://autoscaling.` + region + `.amazonaws.com
export AWSAPI_MONITORING=https://monitoring.` + region + `.amazonaws.com
call() { python3 -I -S /usr/local/lib/ams-bootstrap/awsapi.py "$@"; echo "$1=$?"; }
call put-metrics other/namespace ` + shellQuote(c.groups[components.RoleEdge]) + ` Viewers=1
call put-metrics ams-cluster/dev/origin ` + shellQuote(c.groups[components.RoleEdge]) + ` Viewers=1
call protect ` + shellQuote(other) + ` true
call heartbeat ` + shellQuote(other) + ` ` + shellQuote(c.drainHooks[components.RoleOrigin]) + `
call put-metrics ams-cluster/dev/edge ` + shellQuote(c.groups[components.RoleEdge]) + ` Viewers=1
`
	res := n.Run("forbidden-calls.sh", script)
	for _, want := range []string{"put-metrics=6", "protect=6", "heartbeat=6", "put-metrics=0"} {
		f.check(strings.Contains(res.Output, want), "the node's role did not answer %s as expected:\n%s", want, tail(res.Output, 10))
	}
	denied := 0
	for _, call := range c.w.AWS.Calls() {
		if !call.Allowed && (call.Action == "PutMetricData" || call.Action == "SetInstanceProtection" || call.Action == "RecordLifecycleActionHeartbeat") {
			denied++
		}
	}
	// Another namespace, the origins' namespace, the origins' protection
	// and their drain hook: four calls, each refused.
	f.check(denied == 4, "IAM denied %d of the 4 calls outside the node's namespace and group", denied)
	return f.list
}

// checkUnit waits for a unit of the node and checks that it is active.
func (c *bootCluster) checkUnit(f *failures, n *sandbox.Node, unit, what string) {
	st := n.WaitUnit(unit)
	f.check(st.Active == "active", "%s: %s is %s (%s):\n%s", what, unit, st.Active, st.Result, tail(n.Journal(unit), 15))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// lifecycleScenarios are the warm pool's, the agent's and the drain's
// scenarios: tests/lifecycle runs them (TestLifecycleScenarios).
func lifecycleScenarios() map[string]scenario {
	return map[string]scenario{
		"a warming node never joins the cluster":       warmingNeverJoins,
		"leaving the warm pool joins once":             leavingThePoolJoinsOnce,
		"a rebooted node starts its agent":             rebootedNodeStartsItsAgent,
		"a draining node waits for its viewers":        drainWaitsForViewers,
		"viewers that never leave end at drainSeconds": drainEndsAtDrainSeconds,
		"an origin with a publisher is protected":      originWithPublisherIsProtected,
		"a node writes only its namespace and group":   nodeWritesOnlyItsOwn,
	}
}

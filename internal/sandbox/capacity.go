package sandbox

import (
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// TargetGroupHealth is a load balancer target group's health check.
type TargetGroupHealth = awsapi.TargetGroupHealth

// TargetChange is a change of a target's health state.
type TargetChange = awsapi.TargetChange

// Target health states.
const (
	TargetInitial   = awsapi.TargetInitial
	TargetHealthy   = awsapi.TargetHealthy
	TargetUnhealthy = awsapi.TargetUnhealthy
)

// Load is a node's CPU and memory use from a virtual second on.
type Load = machine.Load

// SetLoad makes the node's kernel report cpu and memory percent of use
// from its clock's second from on (/proc/stat, /proc/meminfo).
func (n *Node) SetLoad(from, cpu, memory int) {
	n.w.t.Helper()
	if err := n.Env().SetLoad(Load{From: from, CPUPercent: cpu, MemoryPercent: memory}); err != nil {
		n.w.t.Fatalf("node %s: load: %v", n.ID, err)
	}
}

// BreakAMS kills the node's Ant Media Server for good: it stops answering
// and no restart brings it back. It returns the node's clock at the
// break; the world's clock, when shared, waits for it.
func (n *Node) BreakAMS() int {
	n.w.t.Helper()
	if n.clock != nil {
		n.clock.Begin()
		defer n.clock.End()
	}
	at := n.Clock()
	if err := antmedia.Break(n.Env()); err != nil {
		n.w.t.Fatalf("node %s: break Ant Media Server: %v", n.ID, err)
	}
	return at
}

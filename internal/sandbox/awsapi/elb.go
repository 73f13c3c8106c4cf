package awsapi

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Routing health and replacement health, as AWS keeps them apart:
//
//   - An Application Load Balancer target group probes each registered
//     target every Interval seconds on its health check port and path; a
//     probe passes on the matcher's status (200) within Timeout. A new
//     target is "initial" until HealthyThreshold consecutive passes make it
//     "healthy"; UnhealthyThreshold consecutive failures make any target
//     "unhealthy", and HealthyThreshold passes bring it back. Only healthy
//     targets get new requests, except that when no target is healthy the
//     load balancer fails open and routes to all of them (Elastic Load
//     Balancing User Guide, "Health checks for Application Load Balancer
//     target groups": "Target health status", and "If a target group
//     contains only unhealthy registered targets, the load balancer routes
//     requests to all those targets, regardless of their health status").
//   - Auto Scaling registers an instance with its group's target groups when
//     it enters InService and deregisters it when it leaves (domain facts,
//     "Auto Scaling lifecycle"). With HealthCheckType ELB, an instance whose
//     target is unhealthy past the health check grace period (counted from
//     InService, after the launching hook) is marked Unhealthy; with EC2
//     only EC2 status checks count, never the load balancer's verdict
//     (Amazon EC2 Auto Scaling User Guide, "Health checks for instances in
//     an Auto Scaling group"). SetInstanceHealth sets the status by hand;
//     with ShouldRespectGracePeriod (the default) a call within the grace
//     period is ignored (API reference, SetInstanceHealth). An Unhealthy
//     instance is terminated, through the terminating lifecycle hooks, and
//     replaced.
//
// Probes run on the target instance's virtual clock. With a clock per
// instance, each time that clock passes the next probe's time, one probe
// is sent. On a world's one clock (ShareClock) each target's probes are
// wake-ups on that clock, every Interval seconds from its registration:
// the clock stops at each, and moves on only once the probe is answered
// and judged, so no probe is skipped or late however far the clock jumps.

// HealthCheckTypeEC2 and HealthCheckTypeELB are a group's HealthCheckType.
const (
	HealthCheckTypeEC2 = "EC2"
	HealthCheckTypeELB = "ELB"
)

// TargetGroupHealth is a target group's health check.
type TargetGroupHealth struct {
	// Port and Path are probed on each target; a 200 passes.
	Port int
	Path string
	// Interval and Timeout are in seconds.
	Interval, Timeout int
	// HealthyThreshold and UnhealthyThreshold are consecutive probe counts.
	HealthyThreshold, UnhealthyThreshold int
}

// Target health states (DescribeTargetHealth TargetHealth.State).
const (
	TargetInitial   = "initial"
	TargetHealthy   = "healthy"
	TargetUnhealthy = "unhealthy"
)

// TargetChange is a change of a target's health state at a time of its
// instance's clock.
type TargetChange struct {
	At     int
	State  string
	Reason string
}

// elbState is the load balancer's and the groups' health book-keeping.
type elbState struct {
	targetGroups map[string]*targetGroup
	groupHealth  map[string]groupHealth // by Auto Scaling group
	unhealthy    map[string]int         // instance -> its clock when marked Unhealthy
	replacements map[string][]string    // group -> instances it must replace
	endpoint     func(id string, port int) (string, bool)
	started      bool
}

type groupHealth struct {
	checkType string
	grace     int
}

type targetGroup struct {
	name, group string
	health      TargetGroupHealth
	targets     map[string]*target
}

type target struct {
	state    string
	passes   int
	failures int
	next     int
	changes  []TargetChange
	// probing is the pending probe on the world's clock, if any.
	probing interface{ Stop() bool }
}

func (a *AWS) elb() *elbState {
	if a.health.targetGroups == nil {
		a.health = elbState{targetGroups: map[string]*targetGroup{}, groupHealth: map[string]groupHealth{},
			unhealthy: map[string]int{}, replacements: map[string][]string{}}
	}
	return &a.health
}

// SetEndpoint tells the load balancer how to reach an instance's port.
func (a *AWS) SetEndpoint(endpoint func(id string, port int) (string, bool)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.elb().endpoint = endpoint
}

// SetGroupHealthCheck sets an Auto Scaling group's HealthCheckType and
// health check grace period (seconds). A group not set checks EC2 status
// with no grace period.
func (a *AWS) SetGroupHealthCheck(group, checkType string, graceSeconds int) {
	a.t.Helper()
	if checkType != HealthCheckTypeEC2 && checkType != HealthCheckTypeELB {
		a.t.Fatalf("SetGroupHealthCheck %s: HealthCheckType %q is neither EC2 nor ELB", group, checkType)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.group(group)
	a.elb().groupHealth[group] = groupHealth{checkType, graceSeconds}
}

// AddTargetGroup adds a target group that holds the InService instances
// of an Auto Scaling group, and starts probing them.
func (a *AWS) AddTargetGroup(name, group string, h TargetGroupHealth) {
	a.t.Helper()
	if h.Interval < 5 || h.Timeout < 2 || h.Timeout >= h.Interval || h.HealthyThreshold < 2 || h.UnhealthyThreshold < 2 || h.Port < 1 || !strings.HasPrefix(h.Path, "/") {
		a.t.Fatalf("AddTargetGroup %s: health check %+v is not one ELB accepts", name, h)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.group(group)
	e := a.elb()
	tg := &targetGroup{name: name, group: group, health: h, targets: map[string]*target{}}
	e.targetGroups[name] = tg
	for _, in := range a.instances {
		a.syncTarget(tg, in)
	}
	if a.world != nil {
		return
	}
	if !e.started {
		e.started = true
		done := make(chan struct{})
		a.t.Cleanup(func() { close(done) })
		go a.probeLoop(done)
	}
}

// TargetHealth is the instance's health state in the target group, "" when
// it is not registered.
func (a *AWS) TargetHealth(targetGroup, instanceID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if tg, ok := a.elb().targetGroups[targetGroup]; ok {
		if t, ok := tg.targets[instanceID]; ok {
			return t.state
		}
	}
	return ""
}

// TargetChanges are the instance's health changes in the target group.
func (a *AWS) TargetChanges(targetGroup, instanceID string) []TargetChange {
	a.mu.Lock()
	defer a.mu.Unlock()
	if tg, ok := a.elb().targetGroups[targetGroup]; ok {
		if t, ok := tg.targets[instanceID]; ok {
			return append([]TargetChange(nil), t.changes...)
		}
	}
	return nil
}

// Routed are the targets that get new requests: the healthy ones, or,
// when none is healthy, every registered target (fail open).
func (a *AWS) Routed(targetGroup string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	tg, ok := a.elb().targetGroups[targetGroup]
	if !ok {
		return nil
	}
	var healthy, all []string
	for id, t := range tg.targets {
		all = append(all, id)
		if t.state == TargetHealthy {
			healthy = append(healthy, id)
		}
	}
	sort.Strings(healthy)
	sort.Strings(all)
	if len(healthy) == 0 {
		return all
	}
	return healthy
}

// UnhealthyAt is when, on its clock, the instance was marked Unhealthy.
func (a *AWS) UnhealthyAt(instanceID string) (int, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.elb().unhealthy[instanceID]
	return at, ok
}

// Replacements are the instances the group terminated as unhealthy and
// must replace, in order.
func (a *AWS) Replacements(group string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.elb().replacements[group]...)
}

// probeLoop sends each due probe, until done: the probes of instances
// with clocks of their own.
func (a *AWS) probeLoop(done chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-time.After(2 * time.Millisecond):
		}
		for _, p := range a.dueProbes() {
			ok, reason := probe(a.prober, p.url)
			a.probed(p, ok, reason)
		}
	}
}

type dueProbe struct {
	group, id, url string
	at             int
}

// dueProbes registers the InService instances of each target group's Auto
// Scaling group, deregisters the others, and lists the probes due.
func (a *AWS) dueProbes() []dueProbe {
	a.mu.Lock()
	defer a.mu.Unlock()
	var due []dueProbe
	for _, tg := range a.elb().targetGroups {
		for _, in := range a.instances {
			a.syncTarget(tg, in)
		}
		for id, t := range tg.targets {
			if now := a.now(id); now >= t.next {
				due = append(due, a.nextProbe(tg, id, t))
			}
		}
	}
	return due
}

// syncTarget registers an InService instance of the target group's Auto
// Scaling group and deregisters one that left InService. On the world's
// clock a new target's probes begin. Callers hold a.mu.
func (a *AWS) syncTarget(tg *targetGroup, in *asInstance) {
	t, registered := tg.targets[in.id]
	switch {
	case in.group == tg.group && in.state == "InService" && !registered:
		now := a.now(in.id)
		t = &target{state: TargetInitial, next: now, changes: []TargetChange{{At: now, State: TargetInitial, Reason: "registered"}}}
		tg.targets[in.id] = t
		if a.world != nil {
			a.probeAfter(0, tg, in.id, t)
		}
	case registered && in.state != "InService":
		delete(tg.targets, in.id)
		if t.probing != nil {
			t.probing.Stop()
		}
	}
}

// syncTargets registers or deregisters an instance whose lifecycle state
// changed with its group's target groups. Callers hold a.mu.
func (a *AWS) syncTargets(in *asInstance) {
	for _, tg := range a.health.targetGroups {
		a.syncTarget(tg, in)
	}
}

// nextProbe is the target's probe due now; the one after is an interval
// later. Callers hold a.mu.
func (a *AWS) nextProbe(tg *targetGroup, id string, t *target) dueProbe {
	now, url := a.now(id), ""
	if endpoint := a.elb().endpoint; endpoint != nil {
		if base, ok := endpoint(id, tg.health.Port); ok {
			url = base + tg.health.Path
		}
	}
	t.next = now + tg.health.Interval
	return dueProbe{tg.name, id, url, now}
}

// probeAfter puts the target's next probe on the world's clock, seconds
// from now: the probe is sent and judged while the world waits, and puts
// the one after on the clock, for as long as the target stays registered.
// Callers hold a.mu.
func (a *AWS) probeAfter(seconds int, tg *targetGroup, id string, t *target) {
	t.probing = a.world.After(seconds, func() {
		a.mu.Lock()
		if tg.targets[id] != t {
			a.mu.Unlock()
			return
		}
		p := a.nextProbe(tg, id, t)
		a.mu.Unlock()
		ok, reason := probe(a.prober, p.url)
		a.probed(p, ok, reason)
		a.mu.Lock()
		defer a.mu.Unlock()
		if tg.targets[id] == t {
			a.probeAfter(tg.health.Interval, tg, id, t)
		}
	})
}

func probe(client *http.Client, url string) (bool, string) {
	if url == "" {
		return false, "Target.FailedHealthChecks: no route to the target"
	}
	resp, err := client.Get(url)
	if err != nil {
		return false, "Target.Timeout or connection refused: " + err.Error()
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Sprintf("Target.ResponseCodeMismatch: %d", resp.StatusCode)
	}
	return true, ""
}

// probed records one probe's result and applies its consequences.
func (a *AWS) probed(p dueProbe, ok bool, reason string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.elb()
	tg := e.targetGroups[p.group]
	t, registered := tg.targets[p.id]
	if !registered {
		return
	}
	change := func(state string) {
		t.state = state
		t.changes = append(t.changes, TargetChange{At: p.at, State: state, Reason: reason})
	}
	if ok {
		t.passes, t.failures = t.passes+1, 0
		if t.state != TargetHealthy && t.passes >= tg.health.HealthyThreshold {
			change(TargetHealthy)
		}
	} else {
		t.passes, t.failures = 0, t.failures+1
		if t.state != TargetUnhealthy && t.failures >= tg.health.UnhealthyThreshold {
			change(TargetUnhealthy)
		}
	}
	in := a.instances[p.id]
	if t.state == TargetUnhealthy && in != nil && e.groupHealth[tg.group].checkType == HealthCheckTypeELB && a.pastGrace(in) {
		a.replace(in)
	}
}

// inServiceAt is when, on its clock, the instance last entered InService.
func (a *AWS) inServiceAt(in *asInstance) (int, bool) {
	at, ok := 0, false
	for _, c := range in.targets {
		if c.state == "InService" {
			at, ok = c.at, true
		}
	}
	return at, ok && in.state == "InService"
}

// pastGrace reports that an InService instance's health check grace
// period is over.
func (a *AWS) pastGrace(in *asInstance) bool {
	at, ok := a.inServiceAt(in)
	return ok && a.now(in.id) >= at+a.elb().groupHealth[in.group].grace
}

// replace marks an InService instance Unhealthy: the group terminates it,
// through its terminating hooks, and launches a replacement.
func (a *AWS) replace(in *asInstance) {
	e := a.elb()
	if _, done := e.unhealthy[in.id]; done || in.state != "InService" {
		return
	}
	e.unhealthy[in.id] = a.now(in.id)
	e.replacements[in.group] = append(e.replacements[in.group], in.id)
	a.enter(in, "Terminating:Wait")
}

// authorizeInstance authorizes action on the group of instance id (its
// ARN and tags; any group's ARN when the instance is unknown) and returns
// the instance, known to Auto Scaling.
func (a *AWS) authorizeInstance(q *apiRequest, action, id string) (*asInstance, *apiError) {
	in, ok := a.instances[id]
	resource := fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/*", a.Region, a.Account)
	var keys conditionKeys
	if ok {
		g := a.groups[in.group]
		resource, keys = a.groupArn(g), resourceTagKeys("autoscaling", g.tags)
	}
	if aerr := q.authorize(action, resource, keys); aerr != nil {
		return nil, aerr
	}
	if !ok {
		return nil, &apiError{"ValidationError", "Instance Id not found - No managed instance found for instance ID: " + id}
	}
	return in, nil
}

// setInstanceHealth serves SetInstanceHealth (Auto Scaling API reference):
// the instance names its group, whose ARN and tags IAM authorizes against.
func (a *AWS) setInstanceHealth(q *apiRequest) (any, *apiError) {
	status := q.form.Get("HealthStatus")
	in, aerr := a.authorizeInstance(q, "autoscaling:SetInstanceHealth", q.form.Get("InstanceId"))
	if aerr != nil {
		return nil, aerr
	}
	if status != "Healthy" && status != "Unhealthy" {
		return nil, &apiError{"ValidationError", "Valid values for HealthStatus are Healthy and Unhealthy"}
	}
	if q.form.Get("ShouldRespectGracePeriod") != "false" && !a.pastGrace(in) {
		return "", nil
	}
	if status == "Unhealthy" {
		a.replace(in)
	}
	return "", nil
}

package awsapi

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Lifecycle transitions of a hook (Auto Scaling API reference
// PutLifecycleHook, LifecycleTransition).
const (
	TransitionLaunching   = "autoscaling:EC2_INSTANCE_LAUNCHING"
	TransitionTerminating = "autoscaling:EC2_INSTANCE_TERMINATING"
)

// LifecycleHook is a lifecycle hook of an Auto Scaling group.
type LifecycleHook struct {
	// Name is the hook's name; Transition TransitionLaunching or
	// TransitionTerminating.
	Name, Transition string
	// HeartbeatTimeout is how long, in seconds, an instance waits in the
	// hook's wait state (default 3600).
	HeartbeatTimeout int
	// DefaultResult, CONTINUE or ABANDON (default ABANDON), applies when
	// the timeout passes.
	DefaultResult string
}

// asGroup is an Auto Scaling group.
type asGroup struct {
	name, uuid string
	tags       map[string]string
	hooks      map[string]LifecycleHook
	// replacements are the instances launched for members terminated
	// without decrementing the desired capacity (autoscaling_spot.go).
	replacements int
}

// asInstance is an instance of an Auto Scaling group.
type asInstance struct {
	id, group string
	state     string
	protected bool
	// pending are the hooks whose lifecycle action is still open, by name,
	// with their action tokens.
	pending    map[string]string
	heartbeats int
	result     string
	// enteredAt is when, on the instance's clock, it entered its state;
	// targets are the changes of its target lifecycle state (timing.go).
	enteredAt int
	targets   []targetChange
	// deregistered is set once the instance left its target groups.
	deregistered bool
}

// AddGroup adds an Auto Scaling group with its lifecycle hooks.
func (a *AWS) AddGroup(name string, hooks ...LifecycleHook) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.groups[name]; dup {
		a.t.Fatalf("AddGroup %s: AlreadyExists", name)
	}
	g := &asGroup{name: name, uuid: newRequestID(), tags: map[string]string{}, hooks: map[string]LifecycleHook{}}
	for _, h := range hooks {
		if h.HeartbeatTimeout == 0 {
			h.HeartbeatTimeout = 3600
		}
		if h.DefaultResult == "" {
			h.DefaultResult = "ABANDON"
		}
		if h.Transition != TransitionLaunching && h.Transition != TransitionTerminating {
			a.t.Fatalf("AddGroup %s: hook %s: unknown transition %q", name, h.Name, h.Transition)
		}
		g.hooks[h.Name] = h
	}
	a.groups[name] = g
}

// TagGroup sets tags on an Auto Scaling group.
func (a *AWS) TagGroup(name string, tags map[string]string) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	g := a.group(name)
	for k, v := range tags {
		g.tags[k] = v
	}
}

// GroupArn is the ARN of an Auto Scaling group ("Actions, resources, and
// condition keys for Amazon EC2 Auto Scaling", resource autoScalingGroup).
func (a *AWS) GroupArn(name string) string {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.groupArn(a.group(name))
}

func (a *AWS) groupArn(g *asGroup) string {
	return fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:%s:autoScalingGroupName/%s", a.Region, a.Account, g.uuid, g.name)
}

func (a *AWS) group(name string) *asGroup {
	a.t.Helper()
	g, ok := a.groups[name]
	if !ok {
		a.t.Fatalf("no Auto Scaling group %q", name)
	}
	return g
}

func (a *AWS) instance(id string) *asInstance {
	a.t.Helper()
	in, ok := a.instances[id]
	if !ok {
		a.t.Fatalf("instance %s was not launched by an Auto Scaling group", id)
	}
	return in
}

// Launch records that the group launched the instance: it waits in
// Pending:Wait while a launching hook is open, else it is InService
// ("How lifecycle hooks work").
func (a *AWS) Launch(group, instanceID string) {
	a.t.Helper()
	a.launch(group, instanceID, "Pending:Wait")
}

// LaunchWarm records that the group launched the instance into its warm
// pool: it waits in Warmed:Pending:Wait while a launching hook is open,
// else it goes to Warmed:Stopped ("Warm pool instance lifecycle").
func (a *AWS) LaunchWarm(group, instanceID string) {
	a.t.Helper()
	a.launch(group, instanceID, "Warmed:Pending:Wait")
}

func (a *AWS) launch(group, instanceID, state string) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.group(group)
	a.instances[instanceID] = &asInstance{id: instanceID, group: group}
	a.enter(a.instances[instanceID], state)
}

// LifecycleState is an instance's lifecycle state ("Amazon EC2 Auto
// Scaling instance lifecycle"), "" when no group launched it.
func (a *AWS) LifecycleState(instanceID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if in, ok := a.instances[instanceID]; ok {
		return in.state
	}
	return ""
}

// SetLifecycleState moves an instance to a state, as a scale-in or a warm
// pool would. A wait state (…:Wait) opens the lifecycle actions of the
// group's hooks for that transition; with none, the instance goes on.
func (a *AWS) SetLifecycleState(instanceID, state string) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.enter(a.instance(instanceID), state)
}

// LifecycleResult is the result the instance completed its last lifecycle
// action with: "CONTINUE", "ABANDON", or "" when it completed none (an
// expired hook does not count).
func (a *AWS) LifecycleResult(instanceID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if in, ok := a.instances[instanceID]; ok {
		return in.result
	}
	return ""
}

// Heartbeats is how many lifecycle action heartbeats the instance recorded.
func (a *AWS) Heartbeats(instanceID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if in, ok := a.instances[instanceID]; ok {
		return in.heartbeats
	}
	return 0
}

// Protected reports whether the instance is protected from scale-in.
func (a *AWS) Protected(instanceID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, ok := a.instances[instanceID]
	return ok && in.protected
}

// OpenLifecycleAction reports that a lifecycle action of the instance is
// still open: nobody completed it, and its heartbeat timeout has not passed.
func (a *AWS) OpenLifecycleAction(instanceID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, ok := a.instances[instanceID]
	return ok && len(in.pending) > 0
}

// ExpireHook lets the heartbeat timeout of the instance's open lifecycle
// actions pass: each hook's default result applies ("How lifecycle hooks
// work", DefaultResult).
func (a *AWS) ExpireHook(instanceID string) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	in := a.instance(instanceID)
	if len(in.pending) == 0 {
		a.t.Fatalf("ExpireHook %s: no open lifecycle action (state %s)", instanceID, in.state)
	}
	g := a.groups[in.group]
	for _, name := range sortedKeys(in.pending) {
		if in.pending != nil {
			a.complete(in, name, g.hooks[name].DefaultResult)
		}
	}
}

// transitionOf is the hook transition a wait state belongs to.
func transitionOf(state string) string {
	s := strings.TrimPrefix(state, "Warmed:")
	switch {
	case strings.HasPrefix(s, "Pending"):
		return TransitionLaunching
	case strings.HasPrefix(s, "Terminating"):
		return TransitionTerminating
	}
	return ""
}

// enter moves an instance into state; a wait state with no hook to wait
// for passes straight on.
func (a *AWS) enter(in *asInstance, state string) {
	a.setState(in, state)
	in.pending, in.enteredAt = nil, a.now(in.id)
	if !strings.HasSuffix(state, ":Wait") {
		return
	}
	for _, h := range a.groups[in.group].hooks {
		if h.Transition == transitionOf(state) {
			if in.pending == nil {
				in.pending = map[string]string{}
			}
			in.pending[h.Name] = newRequestID()
		}
	}
	if len(in.pending) == 0 {
		a.setState(in, afterWait(state, "CONTINUE"))
	}
}

// setState moves an instance to state and records the change of its
// target lifecycle state, if any.
func (a *AWS) setState(in *asInstance, state string) {
	in.state = state
	target := targetState(state)
	if n := len(in.targets); n == 0 || in.targets[n-1].state != target {
		in.targets = append(in.targets, targetChange{at: a.now(in.id), state: target})
	}
	a.syncTargets(in)
}

// afterWait is where an instance goes when its wait state ends with
// result ("Amazon EC2 Auto Scaling instance lifecycle"; warm pools: "Warm
// pool instance lifecycle"). ABANDON of a launch terminates the instance.
func afterWait(state, result string) string {
	warm := strings.HasPrefix(state, "Warmed:")
	switch {
	case transitionOf(state) == TransitionLaunching && result == "CONTINUE" && warm:
		return "Warmed:Stopped"
	case transitionOf(state) == TransitionLaunching && result == "CONTINUE":
		return "InService"
	case warm:
		return "Warmed:Terminated"
	}
	return "Terminated"
}

// complete closes one open lifecycle action. An ABANDON ends the wait at
// once; CONTINUE when it was the last open action.
func (a *AWS) complete(in *asInstance, hook, result string) {
	delete(in.pending, hook)
	if result == "ABANDON" || len(in.pending) == 0 {
		a.setState(in, afterWait(in.state, result))
		in.pending = nil
	}
}

// targetState is the state an instance is heading for, as IMDS shows it
// in autoscaling/target-lifecycle-state ("Retrieve the target lifecycle
// state through instance metadata": InService, Terminated, Warmed:*, ...).
func targetState(state string) string {
	if strings.HasSuffix(state, ":Wait") || strings.HasSuffix(state, ":Proceed") || state == "Pending" || state == "Terminating" {
		return afterWait(state, "CONTINUE")
	}
	return state
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// autoscaling serves the Auto Scaling Query API operations a node calls.
// The IAM resource of each is the group's ARN, with the group's tags as
// condition keys (Service Authorization Reference for Amazon EC2 Auto
// Scaling: CompleteLifecycleAction, RecordLifecycleActionHeartbeat and
// SetInstanceProtection take autoScalingGroup* and
// autoscaling:ResourceTag/${TagKey}, aws:ResourceTag/${TagKey}).
func (a *AWS) autoscaling(q *apiRequest, op string) (any, *apiError) {
	if q.form.Get("Version") != "2011-01-01" {
		return nil, &apiError{"InvalidAction", "Could not find operation " + op + " for version " + q.form.Get("Version")}
	}
	switch op {
	case "CompleteLifecycleAction", "RecordLifecycleActionHeartbeat", "SetInstanceProtection":
	case "SetInstanceHealth":
		return a.setInstanceHealth(q)
	case "TerminateInstanceInAutoScalingGroup":
		return a.terminateInstance(q)
	default:
		return nil, &apiError{"InvalidAction", "The action " + op + " is not valid for this web service."}
	}
	name := q.form.Get("AutoScalingGroupName")
	if name == "" {
		return nil, &apiError{"ValidationError", "1 validation error detected: Value null at 'autoScalingGroupName' failed to satisfy constraint: Member must not be null"}
	}
	g, ok := a.groups[name]
	resource := fmt.Sprintf("arn:aws:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/%s", a.Region, a.Account, name)
	var keys conditionKeys
	if ok {
		resource, keys = a.groupArn(g), resourceTagKeys("autoscaling", g.tags)
	}
	if aerr := q.authorize("autoscaling:"+op, resource, keys); aerr != nil {
		return nil, aerr
	}
	if !ok {
		return nil, &apiError{"ValidationError", "AutoScalingGroup name not found - AutoScalingGroup " + name + " not found"}
	}
	if op == "SetInstanceProtection" {
		return a.setInstanceProtection(q, g)
	}
	return a.lifecycleAction(q, g, op)
}

// lifecycleAction serves CompleteLifecycleAction and
// RecordLifecycleActionHeartbeat (Auto Scaling API reference): the action
// is named by instance ID or by token, and must be open — and, under an
// adversarial timing, opened long enough ago to be found (timing.go).
func (a *AWS) lifecycleAction(q *apiRequest, g *asGroup, op string) (any, *apiError) {
	hookName, id, token := q.form.Get("LifecycleHookName"), q.form.Get("InstanceId"), q.form.Get("LifecycleActionToken")
	result := q.form.Get("LifecycleActionResult")
	if op == "CompleteLifecycleAction" && result != "CONTINUE" && result != "ABANDON" {
		return nil, &apiError{"ValidationError", "Valid values for LifecycleActionResult are CONTINUE and ABANDON"}
	}
	if _, ok := g.hooks[hookName]; !ok {
		return nil, &apiError{"ValidationError", fmt.Sprintf("No Lifecycle Hook found with name %s for group %s", hookName, g.name)}
	}
	if id == "" && token == "" {
		return nil, &apiError{"ValidationError", "Either InstanceId or LifecycleActionToken must be specified"}
	}
	var in *asInstance
	for _, cand := range a.instances {
		if cand.group == g.name && (id == "" || cand.id == id) && cand.pending[hookName] != "" && (token == "" || cand.pending[hookName] == token) &&
			a.now(cand.id) >= cand.enteredAt+a.timing.LifecycleActionDelay {
			in = cand
		}
	}
	if in == nil {
		if id == "" {
			return nil, &apiError{"ValidationError", "No active Lifecycle Action found with token " + token}
		}
		return nil, &apiError{"ValidationError", "No active Lifecycle Action found with instance ID " + id}
	}
	if op == "RecordLifecycleActionHeartbeat" {
		in.heartbeats++
		return "", nil
	}
	in.result = result
	a.complete(in, hookName, result)
	return "", nil
}

// setInstanceProtection follows the Auto Scaling API reference
// SetInstanceProtection: every instance must be in the group, and not in a
// warm pool.
func (a *AWS) setInstanceProtection(q *apiRequest, g *asGroup) (any, *apiError) {
	protect, err := strconv.ParseBool(q.form.Get("ProtectedFromScaleIn"))
	if err != nil {
		return nil, &apiError{"ValidationError", "1 validation error detected: Value null at 'protectedFromScaleIn' failed to satisfy constraint: Member must not be null"}
	}
	var ids []string
	for i := 1; q.form.Has("InstanceIds.member." + strconv.Itoa(i)); i++ {
		ids = append(ids, q.form.Get("InstanceIds.member."+strconv.Itoa(i)))
	}
	if len(ids) == 0 {
		return nil, &apiError{"ValidationError", "1 validation error detected: Value null at 'instanceIds' failed to satisfy constraint: Member must not be null"}
	}
	for _, id := range ids {
		in, ok := a.instances[id]
		if !ok || in.group != g.name {
			return nil, &apiError{"ValidationError", fmt.Sprintf("The instance %s is not part of Auto Scaling group %s.", id, g.name)}
		}
		if strings.HasPrefix(in.state, "Warmed:") {
			return nil, &apiError{"ValidationError", fmt.Sprintf("The instance %s is in a warm pool; instance protection cannot be set on it.", id)}
		}
	}
	for _, id := range ids {
		a.instances[id].protected = protect
	}
	return "", nil
}

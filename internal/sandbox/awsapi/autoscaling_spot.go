package awsapi

import (
	"fmt"
	"strconv"
)

// terminateInstance serves TerminateInstanceInAutoScalingGroup (Auto
// Scaling API reference): the instance names its group, whose ARN and tags
// IAM authorizes (Service Authorization Reference: autoScalingGroup*,
// autoscaling:ResourceTag/${TagKey}); ShouldDecrementDesiredCapacity is
// required. Only an InService or Standby member can be terminated. The
// instance leaves its target groups at once and enters Terminating, its
// target lifecycle state Terminated; the terminating hooks' wait
// (Terminating:Wait) begins once the deregistration delay ran ("How
// lifecycle hooks work"), which the scenario decides with
// SetLifecycleState. Without a decrement the group launches a replacement.
func (a *AWS) terminateInstance(q *apiRequest) (any, *apiError) {
	id := q.form.Get("InstanceId")
	if id == "" {
		return nil, &apiError{"ValidationError", "1 validation error detected: Value null at 'instanceId' failed to satisfy constraint: Member must not be null"}
	}
	decrement, err := strconv.ParseBool(q.form.Get("ShouldDecrementDesiredCapacity"))
	if err != nil {
		return nil, &apiError{"ValidationError", "1 validation error detected: Value null at 'shouldDecrementDesiredCapacity' failed to satisfy constraint: Member must not be null"}
	}
	in, aerr := a.authorizeInstance(q, "autoscaling:TerminateInstanceInAutoScalingGroup", id)
	if aerr != nil {
		return nil, aerr
	}
	if in.state != "InService" && in.state != "Standby" {
		return nil, &apiError{"ValidationError", fmt.Sprintf("The instance %s is in state %s: only InService and Standby instances can be terminated.", id, in.state)}
	}
	in.deregistered = true
	if !decrement {
		a.groups[in.group].replacements++
	}
	a.enter(in, "Terminating")
	return "", nil
}

// InTargetGroups reports whether the instance is still registered with its
// group's target groups: an InService member that did not leave.
func (a *AWS) InTargetGroups(instanceID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, ok := a.instances[instanceID]
	return ok && in.state == "InService" && !in.deregistered
}

// Relaunches is how many instances the group launched for members
// terminated without decrementing its desired capacity.
func (a *AWS) Relaunches(group string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if g, ok := a.groups[group]; ok {
		return g.replacements
	}
	return 0
}

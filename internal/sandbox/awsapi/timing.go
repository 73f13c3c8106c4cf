package awsapi

import "github.com/ams-cluster/ams-aws/internal/sandbox/machine"

// Timing is how long the AWS stand-ins take to make a change visible, in
// seconds of the virtual clock of the instance concerned. The zero value,
// Instant, makes every change visible at once; Adversarial imitates the
// eventual consistency the real services show:
//
//   - Auto Scaling: completing a lifecycle action right after the state
//     change answers "No active Lifecycle Action found with instance ID …"
//     and succeeds seconds later (aws-samples/amazon-ec2-auto-scaling-
//     group-examples issues 3 and 5, the second with warm-pool instances
//     stuck in Warmed:Pending:Wait after their user data completed early;
//     "Complete a lifecycle action in an Auto Scaling group").
//   - Instance metadata: "When an instance prepares to transition to one of
//     the preceding steady states, Amazon EC2 Auto Scaling updates the value
//     of the instance metadata item autoscaling/target-lifecycle-state"
//     ("Retrieve the target lifecycle state through instance metadata"):
//     the update reaches the instance later, so the item shows the previous
//     target for a while. The first target of an instance is there at its
//     launch (Auto Scaling decides it before the instance runs).
//   - IAM: "Changes that I make are not always immediately visible" (IAM
//     User Guide, Troubleshoot IAM; "Eventual consistency in the Amazon EC2
//     API"): a new instance's profile credentials can be missing from
//     iam/security-credentials/ (404), then its new keys are unknown to the
//     services (InvalidClientTokenId, UnrecognizedClientException), then its
//     role's policy is not yet in force (AccessDenied).
type Timing struct {
	// LifecycleActionDelay is how long after an instance enters a wait
	// state its lifecycle actions can be found (completed or heartbeated).
	LifecycleActionDelay int
	// TargetStateLag is how long IMDS keeps serving an instance's previous
	// target lifecycle state after a change.
	TargetStateLag int
	// CredentialsMissingFor is how long from an instance's launch IMDS has
	// no role under iam/security-credentials/ (404).
	CredentialsMissingFor int
	// KeysUnknownFor is how long from an instance's launch the services
	// refuse its keys as unknown (InvalidClientTokenId;
	// UnrecognizedClientException for the JSON protocol).
	KeysUnknownFor int
	// PolicyMissingFor is how long from an instance's launch its role's
	// policies are not in force: every call is AccessDenied.
	PolicyMissingFor int
}

// Instant is the timing of unit tests: every change is visible at once.
func Instant() Timing { return Timing{} }

// Adversarial is a timing in which every eventually consistent state the
// boot scripts read lags by seconds to tens of seconds, each within what
// the sources above report.
func Adversarial() Timing {
	return Timing{LifecycleActionDelay: 25, TargetStateLag: 15, CredentialsMissingFor: 10, KeysUnknownFor: 20, PolicyMissingFor: 30}
}

// SetTiming sets the timing of the stand-ins.
func (a *AWS) SetTiming(t Timing) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.timing = t
}

// Clock is a world's one virtual clock, shared by its instances and the
// stand-ins (sandbox.World.ShareClock): each instance's clock is then the
// world's less the time the instance launched at.
type Clock interface {
	machine.Activity
	// After runs f once the clock has moved on by seconds, unless stopped
	// first; the clock does not move on while f runs.
	After(seconds int, f func()) interface{ Stop() bool }
}

// ShareClock puts the stand-ins on a world's one clock: each request
// they answer is work the clock waits for, and what they do of their own
// accord (the target groups' health checks) is scheduled on it. Call it
// before the first target group is added.
func (a *AWS) ShareClock(c Clock) {
	a.SetActivity(c)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.world = c
}

// instanceClock is an instance's virtual clock and when it launched on it.
type instanceClock struct {
	now  func() int
	born int
}

// addClock registers the virtual clock of an instance that launched now.
func (a *AWS) addClock(id string, now func() int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.clocks[id] = instanceClock{now: now, born: now()}
}

// now is the virtual time of an instance, 0 before it runs. Callers hold
// a.mu.
func (a *AWS) now(id string) int {
	if c, ok := a.clocks[id]; ok {
		return c.now()
	}
	return 0
}

// age is how long an instance has run. Callers hold a.mu.
func (a *AWS) age(id string) int {
	if c, ok := a.clocks[id]; ok {
		return c.now() - c.born
	}
	return 0
}

// keysUnknown reports that the services do not know an instance's new
// keys yet. Callers hold a.mu.
func (a *AWS) keysUnknown(id string) bool { return a.age(id) < a.timing.KeysUnknownFor }

// policyMissing reports that an instance's role policies are not in force
// yet. Callers hold a.mu.
func (a *AWS) policyMissing(id string) bool { return a.age(id) < a.timing.PolicyMissingFor }

// targetChange is a change of an instance's target lifecycle state, at a
// time of its clock.
type targetChange struct {
	at    int
	state string
}

// TargetLifecycleState is the target lifecycle state the instance's
// metadata shows now: the newest change older than the timing's lag, or
// the instance's first target; false when no group launched it.
func (a *AWS) TargetLifecycleState(instanceID string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	in, ok := a.instances[instanceID]
	if !ok || len(in.targets) == 0 {
		return "", false
	}
	seen := a.now(instanceID) - a.timing.TargetStateLag
	shown := in.targets[0].state
	for _, c := range in.targets[1:] {
		if c.at <= seen {
			shown = c.state
		}
	}
	return shown, true
}

// CurrentTiming is the timing of the stand-ins.
func (a *AWS) CurrentTiming() Timing {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.timing
}

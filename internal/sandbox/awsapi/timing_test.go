package awsapi_test

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// timedInstance is instance i-1 of group origin (lifecycle hooks launch
// and drain, role node) in an AWS stand-in with the given timing, and a
// way to let its clock run.
func timedInstance(t *testing.T, timing awsapi.Timing) (a *awsapi.AWS, m *awsapi.IMDS, sleep func(seconds int)) {
	t.Helper()
	a = awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	a.SetTiming(timing)
	a.AddRole("node", lifecyclePolicy)
	a.AddGroup("origin", awsapi.LifecycleHook{Name: "launch", Transition: awsapi.TransitionLaunching, HeartbeatTimeout: 600, DefaultResult: "ABANDON"},
		awsapi.LifecycleHook{Name: "drain", Transition: awsapi.TransitionTerminating, DefaultResult: "CONTINUE"})
	a.TagGroup("origin", map[string]string{"ams:group": "ams-cluster/dev/ams-cluster-dev-origin"})
	root, m := testInstance(t, a, "i-1", "node", "origin")
	return a, m, func(seconds int) {
		t.Helper()
		e := &machine.Env{Root: root}
		if err := os.MkdirAll(filepath.Dir(e.State("clock")), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := e.Advance(seconds); err != nil {
			t.Fatal(err)
		}
	}
}

// imdsTargetState reads autoscaling/target-lifecycle-state through IMDSv2.
func imdsTargetState(t *testing.T, m *awsapi.IMDS) (int, string) {
	t.Helper()
	_, tok := imdsDo(t, m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	return imdsDo(t, m, "GET", "/latest/meta-data/autoscaling/target-lifecycle-state", map[string]string{"X-aws-ec2-metadata-token": tok})
}

// TestTimingLifecycleActionDelay: under an adversarial timing a lifecycle
// action is not found until LifecycleActionDelay after the state change,
// with the error AWS gives (aws-samples/amazon-ec2-auto-scaling-group-
// examples issue 5); the instant timing finds it at once.
func TestTimingLifecycleActionDelay(t *testing.T) {
	adv := awsapi.Adversarial()
	a, m, sleep := timedInstance(t, awsapi.Timing{LifecycleActionDelay: adv.LifecycleActionDelay})
	c := imdsCredentials(t, m, "node")
	a.LaunchWarm("origin", "i-1")
	sleep(adv.LifecycleActionDelay - 1)
	status, code, msg := asCallMessage(t, a, c, complete("origin", "launch", "i-1", "CONTINUE"))
	if status != 400 || code != "ValidationError" || msg != "No active Lifecycle Action found with instance ID i-1" {
		t.Errorf("completing %d s after the launch: got %d %s %q, want 400 ValidationError \"No active Lifecycle Action found with instance ID i-1\"",
			adv.LifecycleActionDelay-1, status, code, msg)
	}
	heartbeat := url.Values{"Action": {"RecordLifecycleActionHeartbeat"}, "AutoScalingGroupName": {"origin"}, "LifecycleHookName": {"launch"}, "InstanceId": {"i-1"}}
	if _, code := asCall(t, a, c, heartbeat); code != "ValidationError" {
		t.Errorf("a heartbeat before the action is found: got %q, want ValidationError", code)
	}
	if got := a.LifecycleState("i-1"); got != "Warmed:Pending:Wait" {
		t.Errorf("after the early completion the instance is %s, want still Warmed:Pending:Wait", got)
	}
	sleep(1)
	if _, code := asCall(t, a, c, complete("origin", "launch", "i-1", "CONTINUE")); code != "" {
		t.Errorf("completing %d s after the launch: got %s, want success", adv.LifecycleActionDelay, code)
	}
	if got := a.LifecycleState("i-1"); got != "Warmed:Stopped" {
		t.Errorf("after the completion the instance is %s, want Warmed:Stopped", got)
	}
	// A later wait state is found only LifecycleActionDelay after it began.
	a.SetLifecycleState("i-1", "Terminating:Wait")
	if _, code := asCall(t, a, c, complete("origin", "drain", "i-1", "CONTINUE")); code != "ValidationError" {
		t.Errorf("completing the drain at once: got %q, want ValidationError", code)
	}
	sleep(adv.LifecycleActionDelay)
	if _, code := asCall(t, a, c, complete("origin", "drain", "i-1", "CONTINUE")); code != "" {
		t.Errorf("completing the drain later: got %q, want success", code)
	}

	instant, im, _ := timedInstance(t, awsapi.Instant())
	instant.Launch("origin", "i-1")
	if _, code := asCall(t, instant, imdsCredentials(t, im, "node"), complete("origin", "launch", "i-1", "CONTINUE")); code != "" {
		t.Errorf("instant timing: completing at once got %q, want success", code)
	}
}

// TestTimingTargetStateLag: the metadata shows an instance's first target
// from its launch, and each later one only TargetStateLag after the change.
func TestTimingTargetStateLag(t *testing.T) {
	lag := awsapi.Adversarial().TargetStateLag
	a, m, sleep := timedInstance(t, awsapi.Timing{TargetStateLag: lag})
	a.LaunchWarm("origin", "i-1")
	if status, body := imdsTargetState(t, m); status != 200 || body != "Warmed:Stopped" {
		t.Errorf("at launch into the warm pool: got %d %q, want Warmed:Stopped", status, body)
	}
	if _, code := asCall(t, a, imdsCredentials(t, m, "node"), complete("origin", "launch", "i-1", "CONTINUE")); code != "" {
		t.Fatalf("completing the warm launch: %s", code)
	}
	sleep(100)
	a.SetLifecycleState("i-1", "Pending:Wait") // leaving the pool
	for _, step := range []struct {
		sleep int
		want  string
	}{{0, "Warmed:Stopped"}, {lag - 1, "Warmed:Stopped"}, {1, "InService"}} {
		sleep(step.sleep)
		if status, body := imdsTargetState(t, m); status != 200 || body != step.want {
			t.Errorf("%d s after leaving the pool: got %d %q, want %s", a.AgeOf("i-1")-100, status, body, step.want)
		}
	}
	if got := a.LifecycleState("i-1"); got != "Pending:Wait" {
		t.Errorf("the lag changed the state itself: %s, want Pending:Wait", got)
	}
}

// TestTimingFreshCredentials: a new instance finds no credentials in the
// metadata, then its keys are unknown, then its role's policy is not in
// force; the instant timing hands out working credentials at once.
func TestTimingFreshCredentials(t *testing.T) {
	adv := awsapi.Adversarial()
	adv.LifecycleActionDelay = 0
	a, m, sleep := timedInstance(t, adv)
	a.Launch("origin", "i-1")
	_, tok := imdsDo(t, m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "600"})
	for _, path := range []string{"iam/security-credentials/", "iam/security-credentials/node"} {
		if status, _ := imdsDo(t, m, "GET", "/latest/meta-data/"+path, map[string]string{"X-aws-ec2-metadata-token": tok}); status != 404 {
			t.Errorf("%s at launch: got %d, want 404 while the profile propagates", path, status)
		}
	}
	sleep(adv.CredentialsMissingFor)
	c := imdsCredentials(t, m, "node")
	req := func() url.Values { return complete("origin", "launch", "i-1", "CONTINUE") }
	if status, code := asCall(t, a, c, req()); status != 403 || code != "InvalidClientTokenId" {
		t.Errorf("new keys: got %d %q, want 403 InvalidClientTokenId", status, code)
	}
	if status, body := ssmCall(t, a.URL(), c, "GetParameter", map[string]any{"Name": "/x"}); status != 400 || body["__type"] != "UnrecognizedClientException" {
		t.Errorf("new keys on SSM: got %d %v, want UnrecognizedClientException", status, body["__type"])
	}
	sleep(adv.KeysUnknownFor - a.AgeOf("i-1"))
	if status, code := asCall(t, a, c, req()); status != 403 || code != "AccessDenied" {
		t.Errorf("keys known, policy not yet in force: got %d %q, want 403 AccessDenied", status, code)
	}
	sleep(adv.PolicyMissingFor - a.AgeOf("i-1"))
	if _, code := asCall(t, a, c, req()); code != "" {
		t.Errorf("after %d s: got %q, want success", adv.PolicyMissingFor, code)
	}

	instant, im, _ := timedInstance(t, awsapi.Instant())
	instant.Launch("origin", "i-1")
	if _, code := asCall(t, instant, imdsCredentials(t, im, "node"), req()); code != "" {
		t.Errorf("instant timing: got %q, want success at once", code)
	}
}

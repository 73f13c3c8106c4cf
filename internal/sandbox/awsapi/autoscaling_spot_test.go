package awsapi_test

import (
	"net/url"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
)

// leavePolicy lets a node terminate the instances of the edge group only.
const leavePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	"Action":["autoscaling:TerminateInstanceInAutoScalingGroup"],
	"Resource":"*","Condition":{"StringEquals":{"autoscaling:ResourceTag/ams:group":"ams-cluster/dev/ams-cluster-dev-edge"}}}]}`

func leave(id, decrement string) url.Values {
	v := url.Values{"Action": {"TerminateInstanceInAutoScalingGroup"}, "InstanceId": {id}}
	if decrement != "" {
		v.Set("ShouldDecrementDesiredCapacity", decrement)
	}
	return v
}

// TestTerminateInstanceInAutoScalingGroup: a member in service leaves its
// target groups at once and heads for Terminated, with a replacement when
// the desired capacity is kept; IAM scopes the call by the group's tag;
// the decrement flag is required; only InService (or Standby) members go.
func TestTerminateInstanceInAutoScalingGroup(t *testing.T) {
	tests := []struct {
		name, id, decrement, startState string
		wantCode, wantState             string
		wantReplacements                int
	}{
		{"keeps the capacity", "i-1", "false", "InService", "", "Terminating", 1},
		{"decrements", "i-1", "true", "InService", "", "Terminating", 0},
		{"no decrement flag", "i-1", "", "InService", "ValidationError", "InService", 0},
		{"still launching", "i-1", "false", "Pending", "ValidationError", "Pending", 0},
		{"other group", "i-2", "false", "InService", "AccessDenied", "InService", 0},
		{"unknown instance", "i-9", "false", "InService", "AccessDenied", "InService", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
			a.AddRole("node", leavePolicy)
			a.AddGroup("edge", awsapi.LifecycleHook{Name: "drain", Transition: awsapi.TransitionTerminating, DefaultResult: "CONTINUE"})
			a.TagGroup("edge", map[string]string{"ams:group": "ams-cluster/dev/ams-cluster-dev-edge"})
			a.AddGroup("origin")
			a.TagGroup("origin", map[string]string{"ams:group": "ams-cluster/dev/ams-cluster-dev-origin"})
			_, m := testInstance(t, a, "i-1", "node", "edge")
			c := imdsCredentials(t, m, "node")
			a.Launch("origin", "i-2")
			a.SetLifecycleState("i-2", "InService")
			a.Launch("edge", "i-1")
			a.SetLifecycleState("i-1", tt.startState)
			_, code := asCall(t, a, c, leave(tt.id, tt.decrement))
			if code != tt.wantCode {
				t.Errorf("want error %q, got %q", tt.wantCode, code)
			}
			id := "i-1"
			if tt.id == "i-2" {
				id = "i-2"
			}
			if got := a.LifecycleState(id); got != tt.wantState {
				t.Errorf("state %s, want %s", got, tt.wantState)
			}
			if got := a.Relaunches("edge"); got != tt.wantReplacements {
				t.Errorf("replacements %d, want %d", got, tt.wantReplacements)
			}
			if left := tt.wantCode == "" && id == "i-1"; tt.startState == "InService" && a.InTargetGroups(id) == left {
				t.Errorf("in its target groups: %v, want %v", a.InTargetGroups(id), !left)
			}
			if tt.wantState == "Terminating" {
				a.SetLifecycleState("i-1", "Terminating:Wait")
				if !a.OpenLifecycleAction("i-1") {
					t.Error("after the deregistration delay the drain hook is not open")
				}
			}
		})
	}
}

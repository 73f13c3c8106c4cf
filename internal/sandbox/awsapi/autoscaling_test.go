package awsapi_test

import (
	"net/url"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
)

// lifecyclePolicy is the stack's statement: complete lifecycle actions of
// the groups tagged ams:group=<group>.
const lifecyclePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
	"Action":["autoscaling:CompleteLifecycleAction","autoscaling:RecordLifecycleActionHeartbeat","autoscaling:SetInstanceProtection"],
	"Resource":"*","Condition":{"StringEquals":{"autoscaling:ResourceTag/ams:group":"ams-cluster/dev/ams-cluster-dev-origin"}}}]}`

func lifecycleWorld(t *testing.T) (*awsapi.AWS, *awsapi.Credential) {
	t.Helper()
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	a.AddRole("node", lifecyclePolicy)
	a.AddGroup("origin", awsapi.LifecycleHook{Name: "launch", Transition: awsapi.TransitionLaunching, HeartbeatTimeout: 600, DefaultResult: "ABANDON"},
		awsapi.LifecycleHook{Name: "drain", Transition: awsapi.TransitionTerminating, DefaultResult: "CONTINUE"})
	a.TagGroup("origin", map[string]string{"ams:group": "ams-cluster/dev/ams-cluster-dev-origin"})
	a.AddGroup("edge")
	a.TagGroup("edge", map[string]string{"ams:group": "ams-cluster/dev/ams-cluster-dev-edge"})
	_, m := testInstance(t, a, "i-1", "node", "origin")
	return a, imdsCredentials(t, m, "node")
}

func complete(group, hook, id, result string) url.Values {
	return url.Values{"Action": {"CompleteLifecycleAction"}, "AutoScalingGroupName": {group}, "LifecycleHookName": {hook}, "InstanceId": {id}, "LifecycleActionResult": {result}}
}

// TestLifecycleCompleteAction follows one launch through the hook.
func TestLifecycleCompleteAction(t *testing.T) {
	tests := []struct {
		name      string
		req       url.Values
		wantCode  string
		wantState string
	}{
		{"continue", complete("origin", "launch", "i-1", "CONTINUE"), "", "InService"},
		{"abandon", complete("origin", "launch", "i-1", "ABANDON"), "", "Terminated"},
		{"bad result", complete("origin", "launch", "i-1", "MAYBE"), "ValidationError", "Pending:Wait"},
		{"unknown hook", complete("origin", "nope", "i-1", "CONTINUE"), "ValidationError", "Pending:Wait"},
		{"other instance", complete("origin", "launch", "i-9", "CONTINUE"), "ValidationError", "Pending:Wait"},
		{"hook not open", complete("origin", "drain", "i-1", "CONTINUE"), "ValidationError", "Pending:Wait"},
		{"group with other tag", complete("edge", "launch", "i-1", "CONTINUE"), "AccessDenied", "Pending:Wait"},
		{"unknown group", complete("nope", "launch", "i-1", "CONTINUE"), "AccessDenied", "Pending:Wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, c := lifecycleWorld(t)
			a.Launch("origin", "i-1")
			if got := a.LifecycleState("i-1"); got != "Pending:Wait" {
				t.Fatalf("after Launch: want Pending:Wait, got %s", got)
			}
			status, code := asCall(t, a, c, tt.req)
			if code != tt.wantCode {
				t.Errorf("want error %q, got %d %q", tt.wantCode, status, code)
			}
			if code == "AccessDenied" && status != 403 {
				t.Errorf("AccessDenied: want HTTP 403, got %d", status)
			}
			if got := a.LifecycleState("i-1"); got != tt.wantState {
				t.Errorf("want state %s, got %s", tt.wantState, got)
			}
		})
	}
}

// TestLifecycleOnce checks that a completed action cannot be completed
// again, and what LifecycleResult reports.
func TestLifecycleOnce(t *testing.T) {
	a, c := lifecycleWorld(t)
	a.Launch("origin", "i-1")
	if _, code := asCall(t, a, c, url.Values{"Action": {"RecordLifecycleActionHeartbeat"}, "AutoScalingGroupName": {"origin"}, "LifecycleHookName": {"launch"}, "InstanceId": {"i-1"}}); code != "" {
		t.Fatalf("heartbeat: want success, got %s", code)
	}
	if _, code := asCall(t, a, c, complete("origin", "launch", "i-1", "CONTINUE")); code != "" {
		t.Fatalf("first completion: want success, got %s", code)
	}
	if _, code := asCall(t, a, c, complete("origin", "launch", "i-1", "ABANDON")); code != "ValidationError" {
		t.Errorf("second completion: want ValidationError, got %q", code)
	}
	if a.LifecycleState("i-1") != "InService" || a.LifecycleResult("i-1") != "CONTINUE" {
		t.Errorf("want InService/CONTINUE, got %s/%s", a.LifecycleState("i-1"), a.LifecycleResult("i-1"))
	}
}

// TestLifecycleStates covers launches without hooks, expiry, scale-in and
// warm pools.
func TestLifecycleStates(t *testing.T) {
	a, c := lifecycleWorld(t)
	a.AddGroup("plain")
	a.Launch("plain", "i-p")
	if got := a.LifecycleState("i-p"); got != "InService" {
		t.Errorf("no hook: want InService, got %s", got)
	}
	a.Launch("origin", "i-1")
	a.ExpireHook("i-1")
	if a.LifecycleState("i-1") != "Terminated" || a.LifecycleResult("i-1") != "" {
		t.Errorf("expired ABANDON hook: want Terminated and no result, got %s/%q", a.LifecycleState("i-1"), a.LifecycleResult("i-1"))
	}
	a.Launch("origin", "i-2")
	asCall(t, a, c, complete("origin", "launch", "i-2", "CONTINUE"))
	a.SetLifecycleState("i-2", "Terminating:Wait")
	if _, code := asCall(t, a, c, complete("origin", "drain", "i-2", "CONTINUE")); code != "" || a.LifecycleState("i-2") != "Terminated" {
		t.Errorf("drain: want Terminated, got %q %s", code, a.LifecycleState("i-2"))
	}
	a.Launch("origin", "i-3")
	a.SetLifecycleState("i-3", "Warmed:Pending:Wait")
	asCall(t, a, c, complete("origin", "launch", "i-3", "CONTINUE"))
	if got := a.LifecycleState("i-3"); got != "Warmed:Stopped" {
		t.Errorf("warm pool: want Warmed:Stopped, got %s", got)
	}
}

// TestAutoScalingSetInstanceProtection checks SetInstanceProtection.
func TestAutoScalingSetInstanceProtection(t *testing.T) {
	a, c := lifecycleWorld(t)
	a.Launch("origin", "i-1")
	a.Launch("edge", "i-e")
	a.Launch("origin", "i-w")
	a.SetLifecycleState("i-w", "Warmed:Stopped")
	protect := func(group, id, on string) url.Values {
		return url.Values{"Action": {"SetInstanceProtection"}, "AutoScalingGroupName": {group}, "InstanceIds.member.1": {id}, "ProtectedFromScaleIn": {on}}
	}
	tests := []struct {
		name     string
		req      url.Values
		wantCode string
		want     bool
	}{
		{"protect", protect("origin", "i-1", "true"), "", true},
		{"unprotect", protect("origin", "i-1", "false"), "", false},
		{"not in group", protect("origin", "i-e", "true"), "ValidationError", false},
		{"warm pool", protect("origin", "i-w", "true"), "ValidationError", false},
		{"other group's tag", protect("edge", "i-e", "true"), "AccessDenied", false},
	}
	for _, tt := range tests {
		if _, code := asCall(t, a, c, tt.req); code != tt.wantCode {
			t.Errorf("%s: want %q, got %q", tt.name, tt.wantCode, code)
		}
		id := tt.req.Get("InstanceIds.member.1")
		if a.Protected(id) != tt.want {
			t.Errorf("%s: want Protected(%s) %v, got %v", tt.name, id, tt.want, !tt.want)
		}
	}
}

package awsapi_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// TestIMDSTokenRules checks the IMDSv2 session rules.
func TestIMDSTokenRules(t *testing.T) {
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	_, m := testInstance(t, a, "i-1", "", "")
	_, tok := imdsDo(t, m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
	tests := []struct {
		name, method, path string
		headers            map[string]string
		want               int
	}{
		{"token without TTL", "PUT", "/latest/api/token", nil, 400},
		{"TTL 0", "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "0"}, 400},
		{"TTL too long", "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "21601"}, 400},
		{"forwarded", "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60", "X-Forwarded-For": "1.2.3.4"}, 403},
		{"token by GET", "GET", "/latest/api/token", nil, 405},
		{"IMDSv1", "GET", "/latest/meta-data/instance-id", nil, 401},
		{"bad token", "GET", "/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": "forged"}, 401},
		{"valid", "GET", "/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": tok}, 200},
		{"no role", "GET", "/latest/meta-data/iam/security-credentials/", map[string]string{"X-aws-ec2-metadata-token": tok}, 404},
		{"not in a group", "GET", "/latest/meta-data/autoscaling/target-lifecycle-state", map[string]string{"X-aws-ec2-metadata-token": tok}, 404},
		{"unknown item", "GET", "/latest/meta-data/nope", map[string]string{"X-aws-ec2-metadata-token": tok}, 404},
	}
	for _, tt := range tests {
		if got, body := imdsDo(t, m, tt.method, tt.path, tt.headers); got != tt.want {
			t.Errorf("%s: want %d, got %d %q", tt.name, tt.want, got, body)
		}
	}
	reqs := m.Requests()
	if last := reqs[len(reqs)-1]; last.Path != "/latest/meta-data/nope" || !last.Token || last.Status != 404 {
		t.Errorf("Requests: want the last request recorded, got %+v", last)
	}
}

// TestIMDSTokenExpiresWithNodeTime checks that sleeping past the TTL ends
// the session.
func TestIMDSTokenExpiresWithNodeTime(t *testing.T) {
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	root, m := testInstance(t, a, "i-1", "node", "")
	_, tok := imdsDo(t, m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	if err := os.MkdirAll(filepath.Join(root, machine.StateDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, machine.StateDir, "clock"), []byte("61\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := imdsDo(t, m, "GET", "/latest/meta-data/instance-id", map[string]string{"X-aws-ec2-metadata-token": tok}); got != 401 {
		t.Errorf("after 61 s of sleep: want 401, got %d", got)
	}
}

// TestIMDSMetadata checks the items the scripts read.
func TestIMDSMetadata(t *testing.T) {
	a := awsapi.New(t, awsapi.TestRegion, awsapi.TestAccount)
	a.AddRole("node", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ssm:GetParameter","Resource":"*"}}`)
	a.AddGroup("g", awsapi.LifecycleHook{Name: "launch", Transition: awsapi.TransitionLaunching})
	a.Launch("g", "i-1")
	_, m := testInstance(t, a, "i-1", "node", "g")
	_, tok := imdsDo(t, m, "PUT", "/latest/api/token", map[string]string{"X-aws-ec2-metadata-token-ttl-seconds": "60"})
	h := map[string]string{"X-aws-ec2-metadata-token": tok}
	for path, want := range map[string]string{
		"/latest/meta-data/instance-id":                        "i-1",
		"/latest/meta-data/local-ipv4":                         "10.0.1.5",
		"/latest/meta-data/placement/region":                   awsapi.TestRegion,
		"/latest/meta-data/placement/availability-zone":        awsapi.TestRegion + "a",
		"/latest/meta-data/iam/security-credentials/":          "node",
		"/latest/meta-data/autoscaling/target-lifecycle-state": "InService",
	} {
		if status, got := imdsDo(t, m, "GET", path, h); status != 200 || got != want {
			t.Errorf("%s: want 200 %q, got %d %q", path, want, status, got)
		}
	}
	if status, _ := imdsDo(t, m, "GET", "/latest/meta-data/iam/security-credentials/other", h); status != 404 {
		t.Errorf("another role's credentials: want 404, got %d", status)
	}
	_, doc := imdsDo(t, m, "GET", "/latest/dynamic/instance-identity/document", h)
	var id map[string]any
	if err := json.Unmarshal([]byte(doc), &id); err != nil || id["instanceId"] != "i-1" || id["accountId"] != awsapi.TestAccount || id["region"] != awsapi.TestRegion {
		t.Errorf("identity document: want instance, account and region, got %v %s", err, doc)
	}
	c := imdsCredentials(t, m, "node")
	if again := imdsCredentials(t, m, "node"); again.AccessKeyID != c.AccessKeyID {
		t.Errorf("want stable credentials, got %s then %s", c.AccessKeyID, again.AccessKeyID)
	}
	a.SetLifecycleState("i-1", "Terminating:Wait")
	if _, got := imdsDo(t, m, "GET", "/latest/meta-data/autoscaling/target-lifecycle-state", h); got != "Terminated" {
		t.Errorf("terminating: want target Terminated, got %q", got)
	}
}

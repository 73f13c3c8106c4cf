package tests

import (
	"encoding/base64"
	"strings"
	"testing"
)

// The boot scripts as text: what running them does is proven in the node
// sandbox (boot_test.go). Here, what only the text can show: every rendered
// script is bash that parses and passes shellcheck, carries the stack's
// values in its constants, names secrets but never holds them, and fits in
// EC2's user data.

// renderedScripts are the boot scripts the dev stack renders, by name.
func renderedScripts(t *testing.T, r *run) map[string]string {
	t.Helper()
	out := map[string]string{"mongo-bootstrap.sh": userData(t, r.one(t, "aws:ec2/instance:Instance", "-mongo"))}
	for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		out[strings.TrimPrefix(lt.Name, "ams-cluster-dev-")+" ams-bootstrap.sh"] = userData(t, lt)
	}
	for _, cmd := range r.ofType("command:remote:Command") {
		out["mongo-verify.sh"] = cmd.str("create")
	}
	return out
}

func TestBootScriptsAreLintedBash(t *testing.T) {
	r := deploy(t, sshAccess(), "ams-cluster:sshPrivateKey")
	scripts := renderedScripts(t, r)
	if len(scripts) != 4 {
		t.Fatalf("rendered %d scripts (%v), want MongoDB, origin, edge and the SSH check", len(scripts), keys(scripts))
	}
	for _, name := range keys(scripts) {
		checkShell(t, name, scripts[name])
	}
}

func TestBootScriptsCarryTheStacksValues(t *testing.T) {
	r := deploy(t, map[string]string{"panelAdminEmail": "ops@example.com"})
	param := func(suffix string) string { return r.one(t, "aws:ssm/parameter:Parameter", suffix).str("name") }
	scripts := renderedScripts(t, r)
	want := map[string][]string{
		"mongo-bootstrap.sh": {
			"readonly DATA_VOLUME_ID='" + r.one(t, "aws:ebs/volume:Volume", "-mongo-data").ID + "'",
			"readonly REGION='eu-central-1'",
			"readonly MONGO_VERSION='8.0'",
			"readonly ADMIN_PASSWORD_PARAMETER='" + param("-mongo-admin-password") + "'",
			"readonly APP_PASSWORD_PARAMETER='" + param("-mongo-app-password") + "'",
			"readonly READY_PARAMETER='" + param("-mongo-ready") + "'",
			"readonly DATA_VOLUME_WAIT_SECONDS='600'",
		},
	}
	for _, role := range []string{"origin", "edge"} {
		asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
		want[role+" ams-bootstrap.sh"] = []string{
			"readonly ROLE='" + role + "'",
			"readonly DATABASE_URL_PARAMETER='" + param("-mongo-url") + "'",
			"readonly DATABASE_READY_PARAMETER='" + param("-mongo-ready") + "'",
			"readonly PANEL_ADMIN_EMAIL='ops@example.com'",
			"readonly PANEL_ADMIN_PASSWORD_PARAMETER='" + param("-panel-admin") + "'",
			"readonly PANEL_CLAIM_PARAMETER='" + param("-panel-admin") + "-claim'",
			"readonly LAUNCH_HOOK='" + asg.str("initialLifecycleHooks.0.name") + "'",
			"readonly DATABASE_WAIT_SECONDS='900'",
			"readonly START_WAIT_SECONDS='600'",
		}
	}
	for name, lines := range want {
		for _, line := range lines {
			if !strings.Contains(scripts[name], line+"\n") {
				t.Errorf("%s lacks %q", name, line)
			}
		}
	}
}

// TestBootScriptsHoldNoSecretsAndFitInUserData: user data is readable by
// anyone who can describe the instance; it may name parameters only. EC2
// takes at most 16 KB of it, which the scripts reach only compressed.
func TestBootScriptsHoldNoSecretsAndFitInUserData(t *testing.T) {
	r := deploy(t, nil)
	for _, name := range keys(renderedScripts(t, r)) {
		script := renderedScripts(t, r)[name]
		for _, pw := range r.passwords {
			if strings.Contains(script, pw) {
				t.Errorf("%s contains a generated password", name)
			}
		}
		for _, banned := range []string{"mongodb://ams:", "apt-key", "bindIp: 0.0.0.0", "--password", "snap install", "apt-get install -y -q awscli"} {
			if strings.Contains(script, banned) {
				t.Errorf("%s contains %q", name, banned)
			}
		}
	}
	for _, res := range append(r.ofType("aws:ec2/launchTemplate:LaunchTemplate"), r.ofType("aws:ec2/instance:Instance")...) {
		encoded := res.str("userData") + res.str("userDataBase64")
		raw, err := base64.StdEncoding.DecodeString(encoded)
		if err != nil {
			t.Fatalf("%s: %v", res.Name, err)
		}
		if len(raw) > 16384 || raw[0] != 0x1f || raw[1] != 0x8b {
			t.Errorf("%s user data is %d bytes (gzip: %v); EC2 takes 16384, and the scripts fit only gzipped", res.Name, len(raw), raw[0] == 0x1f)
		}
	}
}

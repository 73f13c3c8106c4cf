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
	mongo := userData(t, r.one(t, "aws:ec2/instance:Instance", "-mongo"))
	// The MongoDB user data installs its boot program in a here-document.
	out := map[string]string{"mongo-userdata.sh": mongo, "mongo-bootstrap.sh": heredoc(t, mongo, "BOOT")}
	for _, lt := range r.ofType("aws:ec2/launchTemplate:LaunchTemplate") {
		role := strings.TrimPrefix(lt.Name, "ams-cluster-dev-")
		script := userData(t, lt)
		out[role+" ams-bootstrap.sh"] = script
		// The programs the user data installs, each in its own heredoc.
		out[role+" ams-node.sh"] = heredoc(t, script, "NODE")
		out[role+" ams-agent.sh"] = heredoc(t, script, "AGENT")
	}
	for _, cmd := range r.ofType("command:remote:Command") {
		out["mongo-verify.sh"] = cmd.str("create")
	}
	return out
}

func TestBootScriptsAreLintedBash(t *testing.T) {
	r := deploy(t, sshAccess(), "ams-cluster:sshPrivateKey")
	scripts := renderedScripts(t, r)
	if len(scripts) != 9 {
		t.Fatalf("rendered %d scripts (%v), want MongoDB's user data and boot program, origin and edge with their node and agent programs, and the SSH check", len(scripts), keys(scripts))
	}
	for _, name := range keys(scripts) {
		checkShell(t, name, scripts[name])
	}
}

// heredoc is the body of the quoted here-document <<'TAG' in script.
func heredoc(t *testing.T, script, tag string) string {
	t.Helper()
	_, rest, ok := strings.Cut(script, "<<'"+tag+"'\n")
	if !ok {
		t.Fatalf("the user data has no here-document %s", tag)
	}
	body, _, ok := strings.Cut(rest, "\n"+tag+"\n")
	if !ok {
		t.Fatalf("the here-document %s does not end", tag)
	}
	return body + "\n"
}

// unitKeys parses a systemd unit's Key=Value lines.
func unitKeys(unit string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			out[k] = v
		}
	}
	return out
}

// TestUserDataInstallsTheNodeAndAgentUnits: the start step runs at every
// start of the instance (not only cloud-init's first), the agent restarts
// when it dies, and each runs the program the user data installed.
func TestUserDataInstallsTheNodeAndAgentUnits(t *testing.T) {
	r := deploy(t, nil)
	for _, role := range []string{"origin", "edge"} {
		script := userData(t, r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role))
		units := strings.Split(script, "<<'UNIT'\n")
		if len(units) != 3 {
			t.Fatalf("%s user data writes %d units, want ams-node and ams-agent", role, len(units)-1)
		}
		node, agent := unitKeys(strings.Split(units[1], "\nUNIT\n")[0]), unitKeys(strings.Split(units[2], "\nUNIT\n")[0])
		for _, c := range []struct {
			unit       string
			got        map[string]string
			key, value string
		}{
			{"ams-node", node, "ExecStart", "/usr/local/lib/ams-bootstrap/ams-node.sh"},
			{"ams-node", node, "Type", "oneshot"},
			{"ams-node", node, "TimeoutStartSec", "infinity"},
			{"ams-node", node, "WantedBy", "multi-user.target"},
			{"ams-agent", agent, "ExecStart", "/usr/local/lib/ams-bootstrap/ams-agent.sh"},
			{"ams-agent", agent, "Restart", "always"},
			{"ams-agent", agent, "After", "network-online.target ams-node.service"},
			{"ams-agent", agent, "ConditionPathExists", "/var/lib/ams-node/joined"},
			{"ams-agent", agent, "WantedBy", "multi-user.target"},
		} {
			if c.got[c.key] != c.value {
				t.Errorf("%s %s.service %s=%q, want %q", role, c.unit, c.key, c.got[c.key], c.value)
			}
		}
		for _, want := range []string{
			`cat >"$UNIT_DIR/ams-node.service" <<'UNIT'`, `cat >"$UNIT_DIR/ams-agent.service" <<'UNIT'`,
			"systemctl enable ams-node.service ams-agent.service\n", `exec "$NODE_DIR/ams-node.sh"`,
		} {
			if !strings.Contains(script, want) {
				t.Errorf("%s user data lacks %s", role, want)
			}
		}
		// The agent runs only once the node is in the cluster (its
		// condition), and ams-node.sh, a oneshot the agent is ordered
		// after, never waits for the agent's start job.
		if nodeScript := heredoc(t, script, "NODE"); !strings.Contains(nodeScript, "systemctl start --no-block ams-agent.service") ||
			strings.Contains(script, "--now ams-agent") || strings.Contains(script, "systemctl start ams-agent") {
			t.Errorf("%s: ams-node.sh must start the agent with --no-block, and nothing may start it blocking", role)
		}
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
		t.Logf("%s user data: %d bytes gzipped of EC2's 16384", res.Name, len(raw))
		if len(raw) > 16384 || raw[0] != 0x1f || raw[1] != 0x8b {
			t.Errorf("%s user data is %d bytes (gzip: %v); EC2 takes 16384, and the scripts fit only gzipped", res.Name, len(raw), raw[0] == 0x1f)
		}
	}
}

// TestUserDataInstallsTheMongoBootstrapUnit: the MongoDB boot runs in a
// unit at every start until it has finished once, not in the user data
// (which cloud-init runs once per instance, even when it was cut off); the
// unit is not ordered after cloud-final, which starts it blocking.
func TestUserDataInstallsTheMongoBootstrapUnit(t *testing.T) {
	r := deploy(t, nil)
	script := userData(t, r.one(t, "aws:ec2/instance:Instance", "-mongo"))
	unit := unitKeys(heredoc(t, script, "UNIT"))
	for key, value := range map[string]string{
		"Type":                "oneshot",
		"ExecStart":           "/usr/local/lib/ams-mongo/mongo-bootstrap.sh",
		"ConditionPathExists": "!/var/lib/ams-mongo/bootstrapped",
		"Restart":             "on-failure",
		"WantedBy":            "multi-user.target",
		"After":               "network-online.target",
	} {
		if unit[key] != value {
			t.Errorf("ams-mongo-bootstrap.service %s=%q, want %q", key, unit[key], value)
		}
	}
	program := heredoc(t, script, "BOOT")
	for _, want := range []string{"readonly DONE=/var/lib/ams-mongo/bootstrapped\n", "\nmark_done\n"} {
		if !strings.Contains(program, want) {
			t.Errorf("the boot program lacks %q", want)
		}
	}
	for _, want := range []string{"systemctl enable \"$UNIT\"\n", "until systemctl start \"$UNIT\"; do"} {
		if !strings.Contains(script, want) {
			t.Errorf("the user data lacks %q", want)
		}
	}
}

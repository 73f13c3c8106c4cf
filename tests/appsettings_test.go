package tests

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
)

// The streaming applications' managed settings as they reach AWS (issue
// 18): a generated JWT stream secret in a SecureString, a settings document
// per group in a SecureString that names secrets but holds none, and node
// roles that may read exactly the parameters the document names.

const jwtSecretName = "/ams-cluster/dev/apps/jwt-stream-secret"

// settingsDocument reads a group's settings document.
func settingsDocument(t *testing.T, r *run, role string) (components.SettingsDocument, *registered) {
	t.Helper()
	param := r.one(t, "aws:ssm/parameter:Parameter", "-"+role+"-app-settings")
	var doc components.SettingsDocument
	if err := json.Unmarshal([]byte(param.str("value")), &doc); err != nil {
		t.Fatalf("the %s settings document is not JSON: %v\n%s", role, err, param.str("value"))
	}
	return doc, param
}

// nodeReads are the parameter ARNs a group's nodes may read.
func nodeReads(t *testing.T, r *run, role string) []string {
	t.Helper()
	return readableParameters(policyOf(t, r, r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role).str("iamInstanceProfile.arn")))
}

// TestDefaultStackRequiresAPublishToken: on a default stack every managed
// application needs a JWT to publish; the key is a generated 64-character
// secret in a SecureString; the document names it and holds no secret; the
// nodes may read it and the document, and nothing else new.
func TestDefaultStackRequiresAPublishToken(t *testing.T) {
	r := deploy(t, nil)
	secret := r.one(t, "aws:ssm/parameter:Parameter", "-jwt-stream-secret")
	if secret.str("name") != jwtSecretName || secret.str("type") != "SecureString" {
		t.Errorf("JWT secret parameter %s of type %s, want %s SecureString", secret.str("name"), secret.str("type"), jwtSecretName)
	}
	if v := secret.str("value"); len(v) != 64 || !slices.Contains(r.passwords, v) {
		t.Errorf("the JWT secret is %d characters, want a generated 64-character password", len(v))
	}
	if !secret.input("value").ContainsSecrets() {
		t.Error("the JWT secret's value is not a Pulumi secret in the state")
	}
	for _, role := range []string{"origin", "edge"} {
		doc, param := settingsDocument(t, r, role)
		if param.str("type") != "SecureString" || param.str("name") != "/ams-cluster/dev/ams-cluster-dev-"+role+"/app-settings" {
			t.Errorf("%s settings parameter %s is %s, want a SecureString under the group's prefix", role, param.str("name"), param.str("type"))
		}
		if !slices.Equal(doc.Apps, []string{"LiveApp", "WebRTCAppEE"}) {
			t.Errorf("%s manages %v, want streamingApps' default LiveApp and WebRTCAppEE", role, doc.Apps)
		}
		want := map[string]any{
			"publishJwtControlEnabled": true, "publishTokenControlEnabled": false, "enableTimeTokenForPublish": false,
			"playJwtControlEnabled": false, "listenerHookURL": "",
		}
		got, _ := json.Marshal(doc.Settings)
		w, _ := json.Marshal(want)
		if string(got) != string(w) {
			t.Errorf("%s managed settings %s, want %s", role, got, w)
		}
		if len(doc.Secrets) != 1 || doc.Secrets["jwtStreamSecretKey"] != jwtSecretName || len(doc.Server) != 0 {
			t.Errorf("%s secrets %v and server %v, want jwtStreamSecretKey from %s and no server property", role, doc.Secrets, doc.Server, jwtSecretName)
		}
		for _, pw := range r.passwords {
			if strings.Contains(param.str("value"), pw) {
				t.Errorf("the %s settings document holds a generated secret", role)
			}
		}
		readable := nodeReads(t, r, role)
		for _, arn := range []string{stateString(param, "arn"), stateString(secret, "arn")} {
			if !slices.Contains(readable, arn) {
				t.Errorf("%s nodes may not read %s (they read %v)", role, arn, readable)
			}
		}
		for _, other := range []string{"origin", "edge"} {
			if other != role && slices.Contains(readable, stateString(r.one(t, "aws:ssm/parameter:Parameter", "-"+other+"-app-settings"), "arn")) {
				t.Errorf("%s nodes may read the %s group's settings", role, other)
			}
		}
	}
	// Only the AMS nodes read the secret.
	mongo := policyOf(t, r, r.one(t, "aws:ec2/instance:Instance", "-mongo").str("iamInstanceProfile"))
	if b, _ := json.Marshal(mongo); strings.Contains(string(b), "jwt-stream-secret") {
		t.Error("the MongoDB node's role names the JWT secret")
	}
}

// TestAppSettingsFollowTheConfiguration: publishAuth none, playAuth jwt and
// the webhooks reach the document; with no token anywhere the nodes may no
// longer read the secret.
func TestAppSettingsFollowTheConfiguration(t *testing.T) {
	r := deploy(t, map[string]string{
		"publishAuth": "none", "playAuth": "jwt", "streamingApps": `["LiveApp","Shows"]`,
		"webhookUrl": "https://hooks.example.com/ams", "statusWebhookUrl": "https://status.example.com/ams",
	})
	doc, _ := settingsDocument(t, r, "edge")
	want := map[string]any{
		"publishJwtControlEnabled": false, "playJwtControlEnabled": true, "playTokenControlEnabled": false,
		"enableTimeTokenForPlay": false, "listenerHookURL": "https://hooks.example.com/ams",
	}
	got, _ := json.Marshal(doc.Settings)
	w, _ := json.Marshal(want)
	if string(got) != string(w) || !slices.Equal(doc.Apps, []string{"LiveApp", "Shows"}) || doc.Secrets["jwtStreamSecretKey"] != jwtSecretName {
		t.Errorf("document %s for %v with secrets %v, want %s for LiveApp and Shows with the JWT secret", got, doc.Apps, doc.Secrets, w)
	}
	if doc.Server[components.StatusWebhookProperty] != "https://status.example.com/ams" {
		t.Errorf("server properties %v, want the status webhook", doc.Server)
	}

	open := deploy(t, map[string]string{"publishAuth": "none"})
	doc, _ = settingsDocument(t, open, "origin")
	secretArn := stateString(open.one(t, "aws:ssm/parameter:Parameter", "-jwt-stream-secret"), "arn")
	if len(doc.Secrets) != 0 || slices.Contains(nodeReads(t, open, "origin"), secretArn) {
		t.Errorf("with publishAuth and playAuth none the document names %v and the nodes may read the JWT secret: %v", doc.Secrets, nodeReads(t, open, "origin"))
	}
}

// TestBadAppSettingsAreReportedAtOnce: every bad key, by its name.
func TestBadAppSettingsAreReportedAtOnce(t *testing.T) {
	rejectedConfig(t, map[string]string{
		"publishAuth": "token", "playAuth": "open", "webhookUrl": "http://hooks.example.com/ams",
		"statusWebhookUrl": "https://status.example.com/a b", "streamingApps": `["Live App"]`,
	}, []string{
		`ams-cluster:publishAuth = "token" is not valid; accepted: "jwt" or "none"`,
		`ams-cluster:playAuth = "open" is not valid; accepted: "jwt" or "none"`,
		`ams-cluster:webhookUrl = "http://hooks.example.com/ams" is not valid; accepted: an https:// URL`,
		`ams-cluster:statusWebhookUrl = "https://status.example.com/a b" is not valid`,
		`ams-cluster:streamingApps = "Live App" is not valid`,
	})
}

// TestAppSettingsProgramIsPython: the applier the user data installs is
// Python that compiles, and takes secrets on standard input only.
func TestAppSettingsProgramIsPython(t *testing.T) {
	r := deploy(t, nil)
	script := userData(t, r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-origin"))
	_, rest, ok := strings.Cut(script, `cat >"$NODE_DIR/appsettings.py" <<'PY'`+"\n")
	program, _, closed := strings.Cut(rest, "\nPY\n")
	if !ok || !closed {
		t.Fatal("the user data does not install appsettings.py in a here-document")
	}
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	cmd := exec.Command(python, "-I", "-S", "-c", "import ast, sys; ast.parse(sys.stdin.read())")
	cmd.Stdin = strings.NewReader(program)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("appsettings.py does not parse: %v\n%s", err, out)
	}
	node := heredoc(t, script, "NODE")
	if !strings.Contains(node, `printf '%s\0' "$doc" "$hash" "${values[@]}" |`) {
		t.Error("ams-node.sh does not hand the secrets to appsettings.py on standard input")
	}
}

package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// The streaming applications' settings as code (issue 18): each node
// applies the stack's settings through the panel's REST API before it goes
// into service, by reading the whole AppSettings object and writing it back
// merged (a POST resets every field it is not given: the stand-in models
// AntMediaApplicationAdapter.updateSettings, internal/sandbox/antmedia/
// appsettings.go), and its agent re-applies them when they drift.

// Webhooks of the drift scenario.
const (
	hookURL   = "https://hooks.example.com/ams?key=abc"
	statusURL = "https://status.example.com/ams"
)

// managedApps are the default stack's streamingApps.
var managedApps = []string{"LiveApp", "WebRTCAppEE"}

// TestAppSettingsAppliedAtJoin: on a default stack, an origin and then an
// edge join; each applies the settings before it goes into service:
// publishing needs a JWT signed with the secret of the stack's parameter,
// on every managed application of both nodes, and no secret is logged.
func TestAppSettingsAppliedAtJoin(t *testing.T) {
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			f := &failures{t: t}
			c := newBootCluster(t, stackScripts()).timed(tm.timing)
			bootDatabase(c, f)
			if len(f.list) > 0 {
				t.Fatalf("the database did not come up:\n  %s", strings.Join(f.list, "\n  "))
			}
			secret := c.params[jwtSecretParameter(c)]
			f.check(len(secret) >= 32, "the JWT stream secret has %d characters, want 32 or more (AppSettings.jwtStreamSecretKey)", len(secret))
			var logs []string
			for i, role := range []string{components.RoleOrigin, components.RoleEdge} {
				n := c.amsNode(role, fmt.Sprintf("i-0a1b2c3d4e5f6180%d", i), fmt.Sprintf("10.20.0.%d", 90+i))
				run := c.bootAMS(n, role)
				c.checkRun(f, run.Wait(), "the "+role+"'s boot script")
				c.continued(f, n, "the "+role)
				for _, app := range managedApps {
					s, err := n.AMS().AppSettings(app)
					f.check(err == nil, "%s: settings of %s: %v", role, app, err)
					f.check(s["publishJwtControlEnabled"] == true, "%s's %s has publishJwtControlEnabled %v, want true on a default stack", role, app, s["publishJwtControlEnabled"])
					f.check(s["jwtStreamSecretKey"] == secret, "%s's %s does not have the stack parameter's JWT secret", role, app)
					f.check(s["playJwtControlEnabled"] == false && s["hlsMuxingEnabled"] == true, "%s's %s: playJwtControlEnabled %v, hlsMuxingEnabled %v, want false and the factory true",
						role, app, s["playJwtControlEnabled"], s["hlsMuxingEnabled"])
				}
				out := run.Output()
				f.check(strings.Contains(out, "application settings: LiveApp: "), "the %s does not log the application settings:\n%s", role, tail(out, 12))
				logs = append(logs, out, n.Journal("ams-agent.service"))
			}
			// The origin changed the factory settings; what it logs names
			// the fields.
			f.check(strings.Contains(logs[0], "LiveApp: changed jwtStreamSecretKey, publishJwtControlEnabled"),
				"the origin does not log the fields it changed:\n%s", tail(logs[0], 12))
			for _, l := range logs {
				for name, v := range c.secrets() {
					f.check(v == "" || !strings.Contains(l, v), "a node logged the value of %s", name)
				}
			}
			for _, msg := range f.list {
				t.Error(msg)
			}
		})
	}
}

// TestAppSettingsDriftKeepsAdminFields: an administrator changes LiveApp in
// the panel: turns MP4 recording on (not managed), and publishing without
// a token and the webhook off (managed). The node's agent puts the managed
// fields back within its check interval, logs their names, and keeps the
// administrator's MP4 setting; the server's status webhook is in
// conf/red5.properties.
func TestAppSettingsDriftKeepsAdminFields(t *testing.T) {
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			for _, msg := range driftScenario(t, stackScripts(), tm.timing) {
				t.Error(msg)
			}
		})
	}
}

// TestSandboxCatchesPartialSettingsPost: an applier that POSTs only the
// managed fields resets every other field (the stand-in's
// updateSettings model); the drift scenario must fail on the
// administrator's lost MP4 setting.
func TestSandboxCatchesPartialSettingsPost(t *testing.T) {
	partial := scriptSet{
		name:  "partial-post",
		mongo: stackScripts().mongo,
		ams: func(c *bootCluster, role string) string {
			script := stackScripts().ams(c, role)
			mutated := strings.Replace(script, "dict(current, **wanted)", "dict(wanted)", 1)
			if mutated == script {
				c.t.Fatal("the applier no longer merges with dict(current, **wanted): update the mutation")
			}
			return mutated
		},
	}
	failed := driftScenario(t, partial, sandbox.Instant())
	caught := false
	for _, msg := range failed {
		caught = caught || strings.Contains(msg, "mp4MuxingEnabled")
	}
	if !caught {
		t.Errorf("the sandbox did not catch a POST of the managed fields only; failures:\n  %s", strings.Join(failed, "\n  "))
	}
}

// driftScenario runs the drift scenario with the given scripts and
// returns what it found broken.
func driftScenario(t *testing.T, scripts scriptSet, timing sandbox.Timing) []string {
	t.Helper()
	f := &failures{t: t}
	c := newBootClusterWith(t, scripts, map[string]string{"webhookUrl": hookURL, "statusWebhookUrl": statusURL}).timed(timing)
	bootDatabase(c, f)
	if len(f.list) > 0 {
		return f.list
	}
	n := c.amsNode(components.RoleOrigin, "i-0a1b2c3d4e5f61810", "10.20.0.95")
	c.checkRun(f, c.bootAMS(n, components.RoleOrigin).Wait(), "the origin's boot script")
	c.continued(f, n, "the origin")
	if len(f.list) > 0 {
		return f.list
	}
	red5, _ := n.ReadFile("/usr/local/antmedia/conf/red5.properties")
	f.check(strings.Contains(red5, "server.statusWebHookURL="+statusURL+"\n"), "conf/red5.properties has no server.statusWebHookURL=%s:\n%s", statusURL, red5)
	s, err := n.AMS().AppSettings("LiveApp")
	f.check(err == nil && s["listenerHookURL"] == hookURL, "LiveApp's listenerHookURL is %v (%v), want %s", s["listenerHookURL"], err, hookURL)

	// The administrator's change, as the panel makes it: read, change, write all.
	admin := c.panelSession(f, n)
	current := admin.settings(f, "LiveApp")
	current["mp4MuxingEnabled"] = true
	current["publishJwtControlEnabled"] = false
	current["listenerHookURL"] = ""
	admin.post(f, "LiveApp", current)
	before := len(n.Journal("ams-agent.service"))
	want := "LiveApp: changed listenerHookURL, publishJwtControlEnabled"
	reapplied := waitFor(120*time.Second, func() bool { return strings.Contains(n.Journal("ams-agent.service")[before:], want) })
	journal := n.Journal("ams-agent.service")[before:]
	f.check(reapplied, "the agent did not re-apply the drifted fields (want %q in its log):\n%s", want, tail(journal, 10))
	s, err = n.AMS().AppSettings("LiveApp")
	f.check(err == nil, "settings of LiveApp: %v", err)
	f.check(s["publishJwtControlEnabled"] == true && s["listenerHookURL"] == hookURL,
		"after the agent's check LiveApp has publishJwtControlEnabled %v and listenerHookURL %v, want true and %s", s["publishJwtControlEnabled"], s["listenerHookURL"], hookURL)
	f.check(s["mp4MuxingEnabled"] == true, "after the agent's check LiveApp has mp4MuxingEnabled %v: the administrator's setting was lost", s["mp4MuxingEnabled"])
	other, _ := n.AMS().AppSettings("WebRTCAppEE")
	f.check(!strings.Contains(journal, "WebRTCAppEE: changed"), "the agent changed WebRTCAppEE, which had not drifted (publishJwtControlEnabled %v)", other["publishJwtControlEnabled"])
	for name, v := range c.secrets() {
		f.check(v == "" || !strings.Contains(journal, v), "the agent logged the value of %s", name)
	}
	return f.list
}

// bootDatabase boots the stack's MongoDB node.
func bootDatabase(c *bootCluster, f *failures) {
	c.checkRun(f, c.bootMongo(c.mongoNode(c.mongoID, 5)), "the MongoDB boot script")
}

// jwtSecretParameter is the name of the stack's JWT stream secret.
func jwtSecretParameter(c *bootCluster) string {
	name := components.JWTSecretParameterName("ams-cluster", "dev")
	if _, ok := c.params[name]; !ok {
		c.t.Fatalf("the stack registered no parameter %s (it has %v)", name, keys(c.params))
	}
	return name
}

// panelSession is the stack's administrator logged in to a node's panel,
// as a person in a browser would be.
type panelSession struct {
	n       *sandbox.Node
	client  *http.Client
	cookies []*http.Cookie
}

func (c *bootCluster) panelSession(f *failures, n *sandbox.Node) *panelSession {
	p := &panelSession{n: n, client: &http.Client{Timeout: 30 * time.Second}}
	login := fmt.Sprintf(`{"email":%q,"password":%q}`, c.panelEmail, md5hex(c.panelPassword()))
	resp, err := p.client.Post(n.AMS().URL()+"/rest/v2/users/authenticate", "application/json", strings.NewReader(login))
	if err != nil {
		f.check(false, "logging in to the panel of %s: %v", n.ID, err)
		return p
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	f.check(strings.Contains(string(body), `"success":true`), "the panel of %s refused the stack's administrator: %s", n.ID, body)
	p.cookies = resp.Cookies()
	return p
}

func (p *panelSession) do(f *failures, method, path string, body any) (int, []byte) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, p.n.AMS().URL()+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for _, ck := range p.cookies {
		req.AddCookie(ck)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		f.check(false, "%s %s on %s: %v", method, path, p.n.ID, err)
		return 0, nil
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (p *panelSession) settings(f *failures, app string) map[string]any {
	status, body := p.do(f, http.MethodGet, "/rest/v2/applications/settings/"+app, nil)
	var out map[string]any
	f.check(status == http.StatusOK && json.Unmarshal(body, &out) == nil, "GET the settings of %s: %d %.200s", app, status, body)
	if out == nil {
		out = map[string]any{}
	}
	return out
}

func (p *panelSession) post(f *failures, app string, settings map[string]any) {
	status, body := p.do(f, http.MethodPost, "/rest/v2/applications/settings/"+app, settings)
	f.check(status == http.StatusOK && strings.Contains(string(body), `"success":true`), "POST the settings of %s: %d %.200s", app, status, body)
}

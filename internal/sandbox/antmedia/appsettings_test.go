package antmedia_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
)

// settingsOf GETs an application's settings through the panel.
func settingsOf(t *testing.T, n *sandbox.Node, app string, cookies []*http.Cookie) map[string]any {
	t.Helper()
	status, body, _ := amsDo(t, n, "GET", "/rest/v2/applications/settings/"+app, "", cookies...)
	if status != 200 {
		t.Fatalf("GET settings of %s on %s: %d %s", app, n.ID, status, body)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("GET settings of %s: %v", app, err)
	}
	return out
}

func postSettings(t *testing.T, n *sandbox.Node, app string, settings map[string]any, cookies []*http.Cookie) (int, string) {
	t.Helper()
	b, _ := json.Marshal(settings)
	status, body, _ := amsDo(t, n, "POST", "/rest/v2/applications/settings/"+app, string(b), cookies...)
	return status, body
}

// TestAMSAppSettingsEndpoint: the settings endpoint of 3.0.x
// (RestServiceV2.getSettings/changeSettings, AntMediaApplicationAdapter.
// updateSettings): a session is required; a POST resets every field it
// does not give to its default; two publish token types are refused; an
// application the node does not run answers 204.
func TestAMSAppSettingsEndpoint(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0a5", "10.0.15.10")
	amsReady(t, n)
	for _, method := range []string{"GET", "POST"} {
		if status, _, _ := amsDo(t, n, method, "/rest/v2/applications/settings/LiveApp", "{}"); status != 403 {
			t.Errorf("%s without a session from localhost: got %d, want 403 (no localhost exception in 3.0.x)", method, status)
		}
	}
	cookies := amsAdmin(t, n)
	s := settingsOf(t, n, "LiveApp", cookies)
	if s["publishJwtControlEnabled"] != false || s["hlsMuxingEnabled"] != true || s["s3Permission"] != "public-read" {
		t.Fatalf("factory settings: %v", s)
	}
	// The administrator turns MP4 recording on: read, change, write all.
	s["mp4MuxingEnabled"] = true
	if status, body := postSettings(t, n, "LiveApp", s, cookies); status != 200 || !amsSuccess(t, body) {
		t.Fatalf("whole-object POST: %d %s", status, body)
	}
	if got := settingsOf(t, n, "LiveApp", cookies); got["mp4MuxingEnabled"] != true || got["updateTime"].(float64) == 0 {
		t.Errorf("after the whole-object POST: %v", got)
	}
	// A POST of one field resets the others to their defaults.
	if status, body := postSettings(t, n, "LiveApp", map[string]any{"publishJwtControlEnabled": true}, cookies); status != 200 || !amsSuccess(t, body) {
		t.Fatalf("partial POST: %d %s", status, body)
	}
	got := settingsOf(t, n, "LiveApp", cookies)
	if got["publishJwtControlEnabled"] != true || got["mp4MuxingEnabled"] != false || got["appName"] != "LiveApp" {
		t.Errorf("after a partial POST: publishJwtControlEnabled=%v mp4MuxingEnabled=%v, want true and the default false", got["publishJwtControlEnabled"], got["mp4MuxingEnabled"])
	}
	// isTokenSecuritySettingsValid.
	got["publishTokenControlEnabled"] = true
	if status, body := postSettings(t, n, "LiveApp", got, cookies); status != 200 || strings.Contains(body, `"success":true`) {
		t.Errorf("two publish token types: %d %s, want success false", status, body)
	}
	if status, _, _ := amsDo(t, n, "GET", "/rest/v2/applications/settings/Nope", "", cookies...); status != 204 {
		t.Errorf("settings of an application the node does not run: %d, want 204", status)
	}
	if status, _, _ := amsDo(t, n, "PUT", "/rest/v2/applications/settings/LiveApp", "{}", cookies...); status != 405 {
		t.Errorf("PUT: %d, want 405", status)
	}
}

// TestAMSAppSettingsAtClusterStart: a POST on one cluster node saves the
// whole settings to the cluster store; a node whose server starts later
// (joins) applies them; a node that runs already keeps its own (the
// Enterprise notifier is closed code: the sandbox passes nothing).
func TestAMSAppSettingsAtClusterStart(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	db := mongoTestNode(t, w, "i-0d6", "10.0.16.5", false)
	url := "mongodb://" + db.PrivateIP + ":27017/"
	a := amsTestNode(t, w, "i-0a6", "10.0.16.10")
	b := amsTestNode(t, w, "i-0b6", "10.0.16.11")
	clusterAMS(t, a, url)
	clusterAMS(t, b, url)
	ca := amsAdmin(t, a)
	cb := loginAs(t, b)
	s := settingsOf(t, a, "WebRTCAppEE", ca)
	s["listenerHookURL"] = "https://hooks.example.com/ams"
	if status, body := postSettings(t, a, "WebRTCAppEE", s, ca); status != 200 || !amsSuccess(t, body) {
		t.Fatalf("POST on a: %d %s", status, body)
	}
	if got := settingsOf(t, b, "WebRTCAppEE", cb); got["listenerHookURL"] != "" {
		t.Errorf("a running node got the change: %v", got["listenerHookURL"])
	}
	c := amsTestNode(t, w, "i-0c6", "10.0.16.12")
	clusterAMS(t, c, url)
	if got := settingsOf(t, c, "WebRTCAppEE", loginAs(t, c)); got["listenerHookURL"] != "https://hooks.example.com/ams" {
		t.Errorf("a node that joined later has listenerHookURL %v, want the stored one", got["listenerHookURL"])
	}
}

// loginAs logs in on n as the cluster's administrator (users are shared).
func loginAs(t *testing.T, n *sandbox.Node) []*http.Cookie {
	t.Helper()
	_, body, resp := amsDo(t, n, "POST", "/rest/v2/users/authenticate", userJSON("admin@example.com", antmedia.AMSMD5("pw")))
	if resp == nil || !amsSuccess(t, body) {
		t.Fatalf("login on %s: %s", n.ID, body)
	}
	return resp.Cookies()
}

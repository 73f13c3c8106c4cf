package antmedia_test

import (
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

// amsAdmin adds the panel's first administrator on n and logs in.
func amsAdmin(t *testing.T, n *sandbox.Node) []*http.Cookie {
	t.Helper()
	amsDo(t, n, "POST", "/rest/v2/users/initial", userJSON("admin@example.com", antmedia.AMSMD5("pw")))
	_, body, resp := amsDo(t, n, "POST", "/rest/v2/users/authenticate", userJSON("admin@example.com", antmedia.AMSMD5("pw")))
	if resp == nil || !amsSuccess(t, body) {
		t.Fatalf("login on %s: %s", n.ID, body)
	}
	return resp.Cookies()
}

// appOn reports the application name on n, if n runs it.
func appOn(t *testing.T, n *sandbox.Node, name string) (antmedia.AMSApp, bool) {
	t.Helper()
	apps, err := n.AMS().Apps()
	if err != nil {
		t.Fatalf("applications of %s: %v", n.ID, err)
	}
	i := slices.IndexFunc(apps, func(a antmedia.AMSApp) bool { return a.Name == name })
	if i < 0 {
		return antmedia.AMSApp{}, false
	}
	return apps[i], true
}

func amsVersionNode(t *testing.T, w *sandbox.World, id, ip, version string) *sandbox.Node {
	t.Helper()
	n := w.NewNode(sandbox.NodeSpec{InstanceID: id, PrivateIP: ip, Image: sandbox.ImageAMS, AMSVersion: version})
	if err := os.WriteFile(n.Path("/usr/local/antmedia/conf/initialized"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestAMSCreateApplicationByVersion creates an application through the
// panel of one cluster node, then joins a second node, for each modelled
// version and database URL: 3.0.2 and 3.0.3 discard create_app.sh when the
// URL has a character of the amsargs pattern (the panel answers 500, no node
// has the application); 3.0.0 and 3.0.1 quote the URL, create_app.sh strips
// the quotes, and its sed turns each "&" of the URL into the line it
// replaces.
func TestAMSCreateApplicationByVersion(t *testing.T) {
	sandbox.Require(t)
	for _, tc := range []struct {
		name, version, query string
		created              bool
		corrupted            string // what db.host becomes instead of the URL
	}{
		{"3.0.3 plain URL", "3.0.3", "", true, ""},
		{"3.0.3 with ?", "3.0.3", "?authSource=admin", false, ""},
		{"3.0.2 with ?", "3.0.2", "?authSource=admin", false, ""},
		{"3.0.3 with &", "3.0.3", "?authSource=admin&connectTimeoutMS=10000", false, ""},
		{"3.0.1 with ?", "3.0.1", "?authSource=admin", true, ""},
		{"3.0.0 with ?", "3.0.0", "?authSource=admin", true, ""},
		{"3.0.1 with &", "3.0.1", "?authSource=admin&connectTimeoutMS=10000", true, "?authSource=admindb.host=localhostconnectTimeoutMS=10000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
			db := mongoTestNode(t, w, "i-0d1", "10.0.11.5", false)
			base := "mongodb://" + db.PrivateIP + ":27017/"
			url := base + tc.query
			a := amsVersionNode(t, w, "i-0a1", "10.0.11.10", tc.version)
			b := amsVersionNode(t, w, "i-0b1", "10.0.11.11", tc.version)
			clusterAMS(t, a, url)
			cookies := amsAdmin(t, a)
			status, body, _ := amsDo(t, a, "POST", "/rest/v2/applications/Shows", "", cookies...)
			wantStatus := map[bool]int{true: 200, false: 500}[tc.created]
			if status != wantStatus || (tc.created && !amsSuccess(t, body)) {
				t.Errorf("POST applications/Shows: got %d %.200s, want %d", status, body, wantStatus)
			}
			clusterAMS(t, b, url)
			wantHost := url
			if tc.corrupted != "" {
				wantHost = base + tc.corrupted
			}
			for _, n := range []*sandbox.Node{a, b} {
				app, ok := appOn(t, n, "Shows")
				if ok != tc.created || ok && (app.DBType != "mongodb" || app.DBHost != wantHost) {
					t.Errorf("%s runs Shows: %v %+v, want %v with db.host %s", n.ID, ok, app, tc.created, wantHost)
				}
				discarded := strings.Contains(n.AMS().ServerLog(), "Discarding command because an argument includes special characters. Argument:"+url+" and command:/bin/bash create_app.sh")
				// Only the panel's node tries: a refused creation leaves
				// nothing in the cluster database for the other to create.
				if discarded != (n == a && tc.query != "" && antmedia.AMSDiscardsSpecialArguments(tc.version)) {
					t.Errorf("%s logged the discarded command: %v, log:\n%s", n.ID, discarded, n.AMS().ServerLog())
				}
			}
			if status, _, _ := amsDo(t, b, "GET", "/Shows/rest/v2/broadcasts/list/0/10", ""); status != map[bool]int{true: 200, false: 404}[tc.created] {
				t.Errorf("the application's REST API on the joined node answered %d", status)
			}
		})
	}
}

// TestAMSJoinCreatesClusterApplications: an application the cluster lists
// (created on a 3.0.1 node) is created by a node that joins; a 3.0.3 node
// joining on a URL with "?" discards create_app.sh and keeps trying.
func TestAMSJoinCreatesClusterApplications(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	db := mongoTestNode(t, w, "i-0d2", "10.0.12.5", false)
	url := "mongodb://" + db.PrivateIP + ":27017/?authSource=admin"
	old := amsVersionNode(t, w, "i-0a2", "10.0.12.10", "3.0.1")
	clusterAMS(t, old, url)
	if status, body, _ := amsDo(t, old, "POST", "/rest/v2/applications/Shows", "", amsAdmin(t, old)...); status != 200 || !amsSuccess(t, body) {
		t.Fatalf("creating Shows on 3.0.1: %d %s", status, body)
	}
	c, err := mongod.DialMongo(w.Dir(), url, old.PrivateIP)
	if err != nil || c == nil {
		t.Fatalf("dialing the cluster database: %v", err)
	}
	defer c.Close()
	docs, err := c.Find(antmedia.AMSClusterDB, antmedia.AMSAppSettings)
	names := map[string]bool{}
	for _, d := range docs {
		names[d["appName"].(string)] = true
	}
	if err != nil || !names["Shows"] || !names["LiveApp"] || !names["WebRTCAppEE"] {
		t.Fatalf("the cluster's AppSettings: %v (%v), want Shows and the image's applications", names, err)
	}
	upgraded := amsTestNode(t, w, "i-0b2", "10.0.12.11")
	clusterAMS(t, upgraded, url)
	if _, ok := appOn(t, upgraded, "Shows"); ok {
		t.Error("a 3.0.3 node created Shows on a URL with ?")
	}
	setClock(t, upgraded, upgraded.Env().Now()+antmedia.AMSAppSyncSeconds)
	if _, ok := appOn(t, upgraded, "Shows"); ok {
		t.Error("a 3.0.3 node created Shows on its second look")
	}
	if got := strings.Count(upgraded.AMS().ServerLog(), "Discarding command"); got != 2 {
		t.Errorf("the 3.0.3 node discarded create_app.sh %d times, want once a look (2)", got)
	}
	fresh := amsVersionNode(t, w, "i-0c2", "10.0.12.12", "3.0.1")
	clusterAMS(t, fresh, url)
	if app, ok := appOn(t, fresh, "Shows"); !ok || app.DBHost != url {
		t.Errorf("a 3.0.1 node that joined runs Shows: %v %+v, want it with db.host %s", ok, app, url)
	}
}

// TestAMSCreateApplicationAnswers: the panel's other answers.
func TestAMSCreateApplicationAnswers(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0a3", "10.0.13.10")
	amsReady(t, n)
	if status, _, _ := amsDo(t, n, "POST", "/rest/v2/applications/Shows", ""); status != 403 {
		t.Errorf("without a session: got %d, want 403", status)
	}
	cookies := amsAdmin(t, n)
	for _, tc := range []struct{ path, want string }{
		{"/rest/v2/applications/LiveApp", `"message":"Application with the same name already exists"`},
		{"/rest/v2/applications/a.b", `"message":"Application name is not alphanumeric. Please provide alphanumeric characters"`},
		{"/rest/v2/applications/Shows", `"success":true`},
	} {
		if status, body, _ := amsDo(t, n, "POST", tc.path, "", cookies...); status != 200 || !strings.Contains(body, tc.want) {
			t.Errorf("POST %s: got %d %s, want 200 with %s", tc.path, status, body, tc.want)
		}
	}
	// Standalone: MapDB, no -m, and create_app.sh empties db.host.
	if app, ok := appOn(t, n, "Shows"); !ok || app.DBType != "mapdb" || app.DBHost != "" {
		t.Errorf("standalone Shows: %v %+v, want mapdb with an empty db.host", ok, app)
	}
	if _, body, _ := amsDo(t, n, "GET", "/rest/v2/applications", "", cookies...); body != `{"applications":["LiveApp","Shows","WebRTCAppEE"]}`+"\n" {
		t.Errorf("GET applications: %s", body)
	}
}

// TestCreateAppScript: create_app.sh's handling of its arguments.
func TestCreateAppScript(t *testing.T) {
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0a4", "10.0.14.10")
	e := n.Env()
	for _, tc := range []struct {
		name, host, want string
		code             int
	}{
		{"Quoted", "'mongodb://h:27017/?a=b'", "mongodb://h:27017/?a=b", 0},
		{"DoubleQuoted", `"redis://h:6379"`, "redis://h:6379", 0},
		{"Amp", "mongodb://h/?a=1&b=2", "mongodb://h/?a=1db.host=localhostb=2", 0},
		{"Backslash", `mongodb://h/\x`, "mongodb://h/x", 0},
		{"Hash", "mongodb://u:p#w@h/", "localhost", 0},
		{"LiveApp", "mongodb://h/", "", 1},
	} {
		out, code := antmedia.CreateAppScript(e, []string{"-n", tc.name, "-w", "true", "-p", "/usr/local/antmedia", "-c", "true", "-m", tc.host})
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s", tc.name, code, tc.code, out)
			continue
		}
		if code == 0 {
			if got := webProp(t, n, tc.name, "db.host"); got != tc.want {
				t.Errorf("%s: db.host=%s, want %s", tc.name, got, tc.want)
			}
			if got := webProp(t, n, tc.name, "webapp.contextPath"); got != "/"+tc.name {
				t.Errorf("%s: webapp.contextPath=%s", tc.name, got)
			}
		}
	}
}

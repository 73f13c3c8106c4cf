package antmedia_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

// amsTestNode launches an AMS Marketplace node (its service started at
// boot) and disarms the image's first-boot admin, as the boot script does.
func amsTestNode(t *testing.T, w *sandbox.World, id, ip string) *sandbox.Node {
	t.Helper()
	n := w.NewNode(sandbox.NodeSpec{InstanceID: id, PrivateIP: ip, Image: sandbox.ImageAMS})
	if err := os.WriteFile(n.Path("/usr/local/antmedia/conf/initialized"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return n
}

// amsReady moves the node's clock to when its server answers.
func amsReady(t *testing.T, n *sandbox.Node) {
	t.Helper()
	rt, err := antmedia.LoadAMSRuntime(n.Env())
	if err != nil {
		t.Fatal(err)
	}
	setClock(t, n, rt.ReadyAt)
}

func setClock(t *testing.T, n *sandbox.Node, v int) {
	t.Helper()
	if err := os.WriteFile(n.Env().State("clock"), []byte(strconv.Itoa(v)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// amsRestart restarts antmedia.service as systemctl does and waits until it answers.
func amsRestart(t *testing.T, n *sandbox.Node) {
	t.Helper()
	e := n.Env()
	if err := antmedia.Stop(e); err != nil {
		t.Fatal(err)
	}
	if err := antmedia.Start(e); err != nil {
		t.Fatal(err)
	}
	amsReady(t, n)
}

// amsDo sends a request with a JSON body (when body is not "") and
// returns the status and body.
func amsDo(t *testing.T, n *sandbox.Node, method, path, body string, cookies ...*http.Cookie) (int, string, *http.Response) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, n.AMS().URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error(), nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

func amsSuccess(t *testing.T, body string) bool {
	t.Helper()
	var r antmedia.AMSResult
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("answer %q is not a Result: %v", body, err)
	}
	return r.Success
}

func userJSON(email, password string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password, "userType": "ADMIN", "scope": "system"})
	return string(b)
}

func TestAMSInstallLayout(t *testing.T) {
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0a1", "10.0.1.10")
	link, err := os.Readlink(n.Path("/etc/systemd/system/multi-user.target.wants/antmedia.service"))
	if err != nil || link != n.Path("/lib/systemd/system/antmedia.service") {
		t.Errorf("antmedia.service enabled link: got %q (%v), want -> %s", link, err, n.Path("/lib/systemd/system/antmedia.service"))
	}
	self, _ := machine.ShimTarget()
	if got, err := os.Readlink(n.Path("/usr/local/antmedia/change_server_mode.sh")); err != nil || got != self {
		t.Errorf("change_server_mode.sh: got -> %q (%v), want -> %s", got, err, self)
	}
	for _, app := range antmedia.AMSWebapps() {
		if _, err := os.Stat(n.Path("/usr/local/antmedia/webapps/" + app + "/WEB-INF/red5-web.properties")); err != nil {
			t.Errorf("webapp %s: %v", app, err)
		}
	}
	if mode, url := n.AMSMode(); mode != "standalone" || url != "localhost" {
		t.Errorf("AMSMode of the image: got %q %q, want standalone localhost", mode, url)
	}
}

func TestAMSAnswersOnlyWhileRunning(t *testing.T) {
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0a2", "10.0.1.11")
	if status, _, _ := amsDo(t, n, "GET", "/rest/v2/liveness", ""); status != 0 {
		t.Errorf("liveness before the server is up: got status %d, want no answer", status)
	}
	amsReady(t, n)
	status, body, _ := amsDo(t, n, "GET", "/rest/v2/liveness", "")
	if status != 200 || !strings.Contains(body, `"status":"ok"`) || !strings.Contains(body, `"host":"ip-10-0-1-11"`) {
		t.Errorf("liveness when up: got %d %s, want 200 with host ip-10-0-1-11 and status ok", status, body)
	}
	if err := antmedia.Stop(n.Env()); err != nil {
		t.Fatal(err)
	}
	if status, _, _ := amsDo(t, n, "GET", "/rest/v2/liveness", ""); status != 0 {
		t.Errorf("liveness after stop: got status %d, want no answer", status)
	}
	reqs := n.AMS().Requests()
	if len(reqs) != 3 || reqs[0].Status != 0 || reqs[1].Status != 200 || reqs[2].Status != 0 {
		t.Errorf("requests: got %+v, want no answer, 200, no answer", reqs)
	}
}

func TestAMSMD5Rules(t *testing.T) {
	const pw = "s3cret panel"
	tests := []struct {
		name      string
		initial   string // password sent to users/initial
		login     string // password sent to users/authenticate
		wantLogin bool
	}{
		{"script: md5 to both", antmedia.AMSMD5(pw), antmedia.AMSMD5(pw), true},
		{"md5 stored, plain login (MD5 of MD5 rule)", antmedia.AMSMD5(pw), pw, true},
		{"plain stored, plain login", pw, pw, true},
		{"plain stored, md5 login", pw, antmedia.AMSMD5(pw), false},
		{"md5 stored, stored hash as login", antmedia.AMSMD5(pw), antmedia.AMSMD5(antmedia.AMSMD5(pw)), false},
		{"wrong password", antmedia.AMSMD5(pw), antmedia.AMSMD5("other"), false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
			n := amsTestNode(t, w, "i-0b"+strconv.Itoa(i), "10.0.2."+strconv.Itoa(10+i))
			amsReady(t, n)
			if _, body, _ := amsDo(t, n, "POST", "/rest/v2/users/initial", userJSON("admin@example.com", tt.initial)); !amsSuccess(t, body) {
				t.Fatalf("users/initial: got %s, want success", body)
			}
			users, err := n.AMS().Users()
			if err != nil || len(users) != 1 || users[0].Password != antmedia.AMSMD5(tt.initial) {
				t.Fatalf("stored users: got %+v (%v), want one with password MD5(sent) %s", users, err, antmedia.AMSMD5(tt.initial))
			}
			_, body, _ := amsDo(t, n, "POST", "/rest/v2/users/authenticate", userJSON("admin@example.com", tt.login))
			if got := amsSuccess(t, body); got != tt.wantLogin {
				t.Errorf("authenticate: got success %v (%s), want %v", got, body, tt.wantLogin)
			}
		})
	}
}

func TestAMSInitialUserOnlyWhileEmpty(t *testing.T) {
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0c1", "10.0.3.10")
	amsReady(t, n)
	steps := []struct {
		method, path, body string
		wantSuccess        bool
	}{
		{"GET", "/rest/v2/first-login-status", "", true},
		{"POST", "/rest/v2/users/initial", `{"email":"a@example.com","password":"x","userType":"USER","scope":"LiveApp"}`, true},
		{"GET", "/rest/v2/first-login-status", "", false},
		{"POST", "/rest/v2/users/initial", userJSON("b@example.com", "y"), false},
	}
	for _, s := range steps {
		status, body, _ := amsDo(t, n, s.method, s.path, s.body)
		if status != 200 || amsSuccess(t, body) != s.wantSuccess {
			t.Errorf("%s %s: got %d %s, want 200 success=%v", s.method, s.path, status, body, s.wantSuccess)
		}
	}
	users, err := n.AMS().Users()
	want := []antmedia.AMSUser{{Email: "a@example.com", Password: antmedia.AMSMD5("x"), UserType: "ADMIN", Scope: "system"}}
	if err != nil || len(users) != 1 || users[0] != want[0] {
		t.Errorf("users: got %+v (%v), want %+v (users/initial makes an ADMIN of scope system)", users, err, want)
	}
}

func TestAMSConcurrentInitialUserOneServer(t *testing.T) {
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0c2", "10.0.3.11")
	amsReady(t, n)
	var wg sync.WaitGroup
	wins := make(chan bool, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, body, _ := amsDo(t, n, "POST", "/rest/v2/users/initial", userJSON("admin@example.com", antmedia.AMSMD5("pw")))
			wins <- strings.Contains(body, `"success":true`)
		}()
	}
	wg.Wait()
	close(wins)
	won := 0
	for ok := range wins {
		if ok {
			won++
		}
	}
	users, err := n.AMS().Users()
	if err != nil || len(users) != 1 || won != 1 {
		t.Errorf("8 concurrent users/initial on one server: got %d users (%v), %d successes; want 1 and 1", len(users), err, won)
	}
}

func TestAMSAuthenticationFilter(t *testing.T) {
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0d1", "10.0.4.10")
	amsReady(t, n)
	amsDo(t, n, "POST", "/rest/v2/users/initial", userJSON("admin@example.com", antmedia.AMSMD5("pw")))
	tests := []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/rest/v2/user-list", "", 403},
		{"GET", "/rest/v2/liveness/", "", 403}, // exact URI match only
		{"GET", "/rest/v2/version", "", 403},
		{"GET", "/rest/v2/authentication-status", "", 200},
		{"POST", "/rest/v2/liveness", "{}", 405},
		{"POST", "/rest/v2/users/initial", "", 500}, // no user: NullPointerException
		{"POST", "/rest/v2/users/initial", `{"email":"x","password":"y","userType":"ROOT"}`, 400},
	}
	for _, tt := range tests {
		if got, body, _ := amsDo(t, n, tt.method, tt.path, tt.body); got != tt.want {
			t.Errorf("%s %s: got %d %.80s, want %d", tt.method, tt.path, got, body, tt.want)
		}
	}
	// A form-encoded body (curl --data-binary without a Content-Type) is refused.
	resp, err := http.Post(n.AMS().URL()+"/rest/v2/users/authenticate", "application/x-www-form-urlencoded", strings.NewReader(userJSON("admin@example.com", antmedia.AMSMD5("pw"))))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 415 {
		t.Errorf("authenticate with a form body: got %d, want 415", resp.StatusCode)
	}
	_, body, r := amsDo(t, n, "POST", "/rest/v2/users/authenticate", userJSON("admin@example.com", antmedia.AMSMD5("pw")))
	if !strings.Contains(body, `"message":"system/ADMIN"`) || r == nil || len(r.Cookies()) == 0 {
		t.Fatalf("authenticate: got %s, want success with message system/ADMIN and a session", body)
	}
	status, list, _ := amsDo(t, n, "GET", "/rest/v2/user-list", "", r.Cookies()...)
	if status != 200 || !strings.Contains(list, "admin@example.com") || strings.Contains(list, "password") {
		t.Errorf("user-list with a session: got %d %s, want 200 listing the user without passwords", status, list)
	}
}

func TestAMSLoginBlocking(t *testing.T) {
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0d2", "10.0.4.11")
	amsReady(t, n)
	amsDo(t, n, "POST", "/rest/v2/users/initial", userJSON("admin@example.com", antmedia.AMSMD5("pw")))
	for i := 0; i < 3; i++ {
		amsDo(t, n, "POST", "/rest/v2/users/authenticate", userJSON("admin@example.com", "bad"))
	}
	_, body, _ := amsDo(t, n, "POST", "/rest/v2/users/authenticate", userJSON("admin@example.com", antmedia.AMSMD5("pw")))
	if amsSuccess(t, body) || !strings.Contains(body, "blocked for 300 secs") {
		t.Errorf("right password after 3 failures: got %s, want blocked", body)
	}
	setClock(t, n, n.Clock()+301)
	if _, body, _ := amsDo(t, n, "POST", "/rest/v2/users/authenticate", userJSON("admin@example.com", antmedia.AMSMD5("pw"))); !amsSuccess(t, body) {
		t.Errorf("right password 301 s later: got %s, want success", body)
	}
}

func TestAMSFirstBootAdmin(t *testing.T) {
	tests := []struct {
		name        string
		initialized bool
		wantUsers   int
	}{
		{"conf/initialized absent: JamesBond", false, 1},
		{"conf/initialized present: no user", true, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
			n := amsTestNode(t, w, "i-0e"+strconv.Itoa(i), "10.0.5."+strconv.Itoa(10+i))
			if !tt.initialized {
				_ = os.Remove(n.Path("/usr/local/antmedia/conf/initialized"))
			}
			amsReady(t, n)
			amsDo(t, n, "GET", "/rest/v2/liveness", "")
			users, err := n.AMS().Users()
			if err != nil || len(users) != tt.wantUsers {
				t.Fatalf("users: got %+v (%v), want %d", users, err, tt.wantUsers)
			}
			if _, err := os.Stat(n.Path("/usr/local/antmedia/conf/initialized")); err != nil {
				t.Errorf("conf/initialized after the first-boot step: %v", err)
			}
			if tt.wantUsers == 1 {
				if users[0].Email != "JamesBond" || users[0].Password != antmedia.AMSMD5(antmedia.AMSMD5(n.ID)) {
					t.Errorf("first-boot admin: got %+v, want JamesBond with MD5(md5hex(instance id))", users[0])
				}
				_, body, _ := amsDo(t, n, "POST", "/rest/v2/users/authenticate", userJSON("JamesBond", antmedia.AMSMD5(n.ID)))
				if !amsSuccess(t, body) {
					t.Errorf("login as JamesBond with md5(instance id): got %s, want success", body)
				}
			}
		})
	}
}

// changeMode runs change_server_mode.sh on n with the given standard input.
func changeMode(t *testing.T, n *sandbox.Node, stdin io.Reader, args ...string) (int, string) {
	t.Helper()
	e := n.Env()
	var out bytes.Buffer
	e.Stdin, e.Stdout, e.Stderr = stdin, &out, &out
	code := antmedia.RunChangeServerMode(e, "./change_server_mode.sh", n.Path("/usr/local/antmedia"), args)
	return code, out.String()
}

func webProp(t *testing.T, n *sandbox.Node, app, key string) string {
	t.Helper()
	p, err := antmedia.ReadJavaProperties(n.Path("/usr/local/antmedia/webapps/" + app + "/WEB-INF/red5-web.properties"))
	if err != nil {
		t.Fatal(err)
	}
	return p[key]
}

func TestServerModeArguments(t *testing.T) {
	sandbox.Require(t)
	const url = "mongodb://ams:p%40ss@10.0.9.5:27017/admin?authSource=admin&replicaSet=rs0"
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
		wantMode string
		wantURL  string // db.host of every webapp and clusterdb.host
		wantType string // db.type of every webapp
	}{
		{"no mode", nil, "", 1, "No server mode specified", "standalone", "localhost", "mapdb"},
		{"bad mode", []string{"clustr", url}, "", 1, "Invalid mode 'clustr'", "standalone", "localhost", "mapdb"},
		{"cluster without URL", []string{"cluster"}, "", 1, "Database connection URL is required", "standalone", "localhost", "mapdb"},
		{"full mongodb URL", []string{"cluster", url}, "", 0, "restarting in cluster mode", "cluster", url, "mongodb"},
		{"mongodb+srv URL", []string{"cluster", "mongodb+srv://u:p@db.example.net/?retryWrites=true"}, "", 0, "DB type is mongodb", "cluster", "mongodb+srv://u:p@db.example.net/?retryWrites=true", "mongodb"},
		{"bare address, stdin at EOF", []string{"cluster", "10.0.9.5"}, "", 1, "Operation cancelled.", "standalone", "localhost", "mapdb"},
		{"bare address, answered n", []string{"cluster", "10.0.9.5"}, "n\n", 1, "Operation cancelled.", "standalone", "localhost", "mapdb"},
		{"bare address, answered y", []string{"cluster", "10.0.9.5"}, "y\n", 0, "Are you sure", "cluster", "10.0.9.5", "mongodb"},
		{"address with port is redis in cluster mode", []string{"cluster", "10.0.9.5:27017"}, "Y\n", 0, "DB type is redis", "cluster", "10.0.9.5:27017", "redisdb"},
		{"localhost needs no confirmation", []string{"cluster", "localhost"}, "", 0, "DB type is mongodb", "cluster", "localhost", "mongodb"},
		{"standalone", []string{"standalone"}, "", 0, "DB type is mapdb", "standalone", "", "mapdb"},
		{"unquoted URL is split on blanks", []string{"cluster", "mongodb://u:p q@h/"}, "", 0, "cluster mode", "cluster", "mongodb://u:p", "mongodb"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
			n := amsTestNode(t, w, "i-0f"+strconv.Itoa(i), "10.0.6."+strconv.Itoa(10+i))
			code, out := changeMode(t, n, strings.NewReader(tt.stdin), tt.args...)
			if code != tt.wantCode || !strings.Contains(out, tt.wantOut) {
				t.Errorf("exit %d, output %q; want exit %d and output containing %q", code, out, tt.wantCode, tt.wantOut)
			}
			if mode, u := n.AMSMode(); mode != tt.wantMode || u != tt.wantURL {
				t.Errorf("AMSMode: got %q %q, want %q %q", mode, u, tt.wantMode, tt.wantURL)
			}
			for _, app := range antmedia.AMSWebapps() {
				if got := webProp(t, n, app, "db.host"); got != tt.wantURL {
					t.Errorf("%s db.host: got %q, want %q", app, got, tt.wantURL)
				}
				if got := webProp(t, n, app, "db.type"); got != tt.wantType {
					t.Errorf("%s db.type: got %q, want %q", app, got, tt.wantType)
				}
			}
			hosts, _ := n.ReadFile("/etc/hosts")
			if hasLine := strings.Contains(hosts, "10.0.6."+strconv.Itoa(10+i)+" ip-10-0-6-"+strconv.Itoa(10+i)+"\n"); hasLine != (tt.wantCode == 0) {
				t.Errorf("/etc/hosts has the host line: %v, want %v\n%s", hasLine, tt.wantCode == 0, hosts)
			}
			if tt.wantCode == 0 {
				assertRestarted(t, n)
			}
		})
	}
}

// assertRestarted checks that the script stopped and started the service
// through systemctl and that the server now runs the new settings.
func assertRestarted(t *testing.T, n *sandbox.Node) {
	t.Helper()
	var verbs []string
	for _, x := range n.Execs() {
		if len(x.Argv) == 3 && x.Argv[0] == "systemctl" && x.Argv[2] == "antmedia.service" {
			verbs = append(verbs, x.Argv[1])
		}
	}
	if strings.Join(verbs, ",") != "stop,start" {
		t.Errorf("systemctl calls: got %v, want stop, start of antmedia.service", verbs)
	}
	rt, _ := antmedia.LoadAMSRuntime(n.Env())
	mode, url := n.AMSMode()
	if !rt.Running || rt.Mode != mode || rt.ClusterDB != url {
		t.Errorf("running server: got %+v, want running with mode %q and %q", rt, mode, url)
	}
}

func TestServerModeBareAddressBlocksOnOpenStdin(t *testing.T) {
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0f99", "10.0.6.99")
	r, wr := io.Pipe()
	done := make(chan int, 1)
	go func() {
		code, _ := changeMode(t, n, r, "cluster", "10.0.9.5")
		done <- code
	}()
	select {
	case code := <-done:
		t.Fatalf("with stdin open and idle, the prompt returned %d; want it to wait as read does", code)
	case <-time.After(200 * time.Millisecond):
	}
	wr.Close() // end of input, as /dev/null gives at once under cloud-init
	select {
	case code := <-done:
		if code != 1 {
			t.Errorf("at end of input: got exit %d, want 1 (Operation cancelled.)", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the prompt did not return at end of input")
	}
	if mode, _ := n.AMSMode(); mode != "standalone" {
		t.Errorf("mode after a cancelled prompt: got %q, want standalone", mode)
	}
}

func TestAMSSettingsSnapshotAtStart(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0a9", "10.0.1.19")
	amsReady(t, n)
	// Cluster settings pointing at nothing, but no restart yet.
	for _, app := range antmedia.AMSWebapps() {
		p := n.Path("/usr/local/antmedia/webapps/" + app + "/WEB-INF/red5-web.properties")
		if err := antmedia.SedChange(p, "db.type=", "db.type=mongodb"); err != nil {
			t.Fatal(err)
		}
		if err := antmedia.SedChange(p, "db.host=", "db.host=mongodb://10.0.99.1:27017/?serverSelectionTimeoutMS=2000"); err != nil {
			t.Fatal(err)
		}
	}
	if status, body, _ := amsDo(t, n, "GET", "/rest/v2/first-login-status", ""); status != 200 || !amsSuccess(t, body) {
		t.Errorf("before restart: got %d %s, want the local store's answer (200, success true)", status, body)
	}
	amsRestart(t, n)
	checkDBDown(t, n)
}

// checkDBDown checks the answers of a server whose user store is out of reach.
func checkDBDown(t *testing.T, n *sandbox.Node) {
	t.Helper()
	if status, body, _ := amsDo(t, n, "GET", "/rest/v2/liveness", ""); status != 200 {
		t.Errorf("liveness with the database down: got %d %s, want 200", status, body)
	}
	status, body, _ := amsDo(t, n, "GET", "/rest/v2/first-login-status", "")
	if status != 500 || strings.Contains(body, `"success":true`) {
		t.Errorf("first-login-status with the database down: got %d %.120s, want 500 without success true", status, body)
	}
	if status, _, _ := amsDo(t, n, "POST", "/rest/v2/users/initial", userJSON("a@example.com", "x")); status != 500 {
		t.Errorf("users/initial with the database down: got %d, want 500", status)
	}
}

// mongoTestNode starts a MongoDB node listening on its private address.
func mongoTestNode(t *testing.T, w *sandbox.World, id, ip string, auth bool) *sandbox.Node {
	t.Helper()
	n := w.NewNode(sandbox.NodeSpec{InstanceID: id, PrivateIP: ip})
	if err := os.MkdirAll(n.Path("/var/lib/mongodb"), 0o755); err != nil {
		t.Fatal(err)
	}
	authz := "disabled"
	if auth {
		authz = "enabled"
	}
	conf := "storage:\n  dbPath: " + n.Path("/var/lib/mongodb") + "\nnet:\n  port: 27017\n  bindIp: 127.0.0.1," + ip + "\nsecurity:\n  authorization: " + authz + "\n"
	if err := os.WriteFile(n.Path("/etc/mongod.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := mongod.Start(n.Env()); err != nil {
		t.Skipf("MongoDB model cannot start a test mongod: %v", err)
	}
	return n
}

// clusterAMS switches an AMS node to cluster mode on url and waits for it.
func clusterAMS(t *testing.T, n *sandbox.Node, url string) {
	t.Helper()
	if code, out := changeMode(t, n, strings.NewReader(""), "cluster", url); code != 0 {
		t.Fatalf("change_server_mode.sh cluster: exit %d\n%s", code, out)
	}
	amsReady(t, n)
}

func TestAMSClusterStoreShared(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	db := mongoTestNode(t, w, "i-0db", "10.0.7.5", false)
	url := "mongodb://" + db.PrivateIP + ":27017/"
	a, b := amsTestNode(t, w, "i-0a7", "10.0.7.10"), amsTestNode(t, w, "i-0b7", "10.0.7.11")
	clusterAMS(t, a, url)
	clusterAMS(t, b, url)

	var wg sync.WaitGroup
	for _, n := range []*sandbox.Node{a, b} {
		wg.Add(1)
		go func(n *sandbox.Node) {
			defer wg.Done()
			amsDo(t, n, "POST", "/rest/v2/users/initial", userJSON("admin@example.com", antmedia.AMSMD5("pw")))
		}(n)
	}
	wg.Wait()
	users, err := a.AMS().Users()
	if err != nil || len(users) == 0 {
		t.Fatalf("cluster users: got %+v (%v), want the admin", users, err)
	}
	// Without a unique index on email, two nodes may both insert; every
	// document is then the same admin with the same hash.
	for _, u := range users {
		if u.Email != "admin@example.com" || u.Password != antmedia.AMSMD5(antmedia.AMSMD5("pw")) {
			t.Errorf("cluster user %+v: want admin@example.com with MD5(md5(pw))", u)
		}
	}
	for _, n := range []*sandbox.Node{a, b} {
		if _, body, _ := amsDo(t, n, "GET", "/rest/v2/first-login-status", ""); amsSuccess(t, body) {
			t.Errorf("%s first-login-status: got %s, want false (one store for the cluster)", n.ID, body)
		}
		if _, body, _ := amsDo(t, n, "POST", "/rest/v2/users/authenticate", userJSON("admin@example.com", antmedia.AMSMD5("pw"))); !amsSuccess(t, body) {
			t.Errorf("%s authenticate: got %s, want success", n.ID, body)
		}
	}
	docs, err := dialAndFind(w, url, a.PrivateIP)
	if err != nil || len(docs) != len(users) {
		t.Errorf("%s.%s holds %d documents (%v), want %d", antmedia.AMSUserDB, antmedia.AMSUserCollection, len(docs), err, len(users))
	}
}

// TestAMSClusterInitialUserRace shows that users/initial is check-then-act
// across servers: two nodes that both see an empty store both add their
// admin (AMS has no unique index and only a per-JVM lock).
func TestAMSClusterInitialUserRace(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	db := mongoTestNode(t, w, "i-0dc", "10.0.8.5", false)
	url := "mongodb://" + db.PrivateIP + ":27017/"
	a, b := amsTestNode(t, w, "i-0a8", "10.0.8.10"), amsTestNode(t, w, "i-0b8", "10.0.8.11")
	clusterAMS(t, a, url)
	clusterAMS(t, b, url)
	var both sync.WaitGroup
	both.Add(2)
	barrier := func() { both.Done(); both.Wait() } // both counted 0 before either adds
	a.AMS().BeforeAdd, b.AMS().BeforeAdd = barrier, barrier
	var wg sync.WaitGroup
	for i, n := range []*sandbox.Node{a, b} {
		wg.Add(1)
		go func(i int, n *sandbox.Node) {
			defer wg.Done()
			amsDo(t, n, "POST", "/rest/v2/users/initial", userJSON("admin"+strconv.Itoa(i)+"@example.com", "pw"))
		}(i, n)
	}
	wg.Wait()
	if users, err := a.AMS().Users(); err != nil || len(users) != 2 {
		t.Errorf("after the interleaving: got %+v (%v), want 2 admins", users, err)
	}
}

func dialAndFind(w *sandbox.World, url, fromIP string) ([]map[string]any, error) {
	c, err := mongod.DialMongo(w.Dir(), url, fromIP)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, errors.New("MongoDB model not available")
	}
	defer c.Close()
	return c.Find(antmedia.AMSUserDB, antmedia.AMSUserCollection)
}

func TestAMSClusterDBUnreachable(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0a6", "10.0.9.10")
	// No node at 10.0.9.250: the driver times out.
	clusterAMS(t, n, "mongodb://ams:pw@10.0.9.250:27017/admin?serverSelectionTimeoutMS=1000")
	checkDBDown(t, n)
}

func TestAMSClusterDBRefusesCredentials(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	db := mongoTestNode(t, w, "i-0dd", "10.0.9.5", true)
	n := amsTestNode(t, w, "i-0a5", "10.0.9.11")
	clusterAMS(t, n, "mongodb://ams:wrong@"+db.PrivateIP+":27017/admin?authSource=admin")
	checkDBDown(t, n)
	if _, err := n.AMS().Users(); err == nil {
		t.Error("Users with refused credentials: got no error, want the driver's error")
	}
}

func TestAMSUsersStoreFiles(t *testing.T) {
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0a4", "10.0.1.14")
	amsReady(t, n)
	amsDo(t, n, "POST", "/rest/v2/users/initial", userJSON("admin@example.com", "h"))
	if _, err := os.Stat(filepath.Join(n.Path("/usr/local/antmedia"), "server.db")); err != nil {
		t.Errorf("standalone store file: %v", err)
	}
}

func TestServerModeScriptOnNode(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, "i-0a3", "10.0.1.13")
	script := `set -eu
cd /usr/local/antmedia
./change_server_mode.sh cluster 'mongodb://ams:pw@10.0.1.250:27017/admin'
if curl -fsS http://127.0.0.1:5080/rest/v2/liveness; then echo "answered too early"; exit 3; fi
for _ in $(seq 1 10); do
  curl -fsS http://127.0.0.1:5080/rest/v2/liveness >/dev/null 2>&1 && break
  sleep 5
done
curl -fsS http://127.0.0.1:5080/rest/v2/liveness
`
	res := n.Run("mode.sh", script)
	if res.ExitCode != 0 || !strings.Contains(res.Output, `"status":"ok"`) {
		t.Fatalf("script: exit %d, want 0 with liveness ok\n%s", res.ExitCode, res.Output)
	}
	if mode, url := n.AMSMode(); mode != "cluster" || url != "mongodb://ams:pw@10.0.1.250:27017/admin" {
		t.Errorf("AMSMode: got %q %q, want cluster and the URL", mode, url)
	}
	assertRestarted(t, n)
}

package tests

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// An administrator creates an application from the web panel of one node
// of a cluster on the stack's own database URL; a node that joins later
// creates it too (Ant Media's cluster notifier creates on each node the
// applications the cluster database lists). Ant Media 3.0.2 and 3.0.3 run
// create_app.sh with the database URL as an argument and discard it when
// the URL holds a character of internal/amsargs's pattern
// (AdminApplication.runConfiguredCommand, Ant-Media-Server 13906cf29):
// see internal/sandbox/antmedia_apps.go.

// appName is the application the administrator creates.
const appName = "Shows"

func TestAppCreationInCluster(t *testing.T) {
	for name, world := range map[string]func(t *testing.T, f *failures) *bootCluster{
		"single member": func(t *testing.T, f *failures) *bootCluster { return singleMemberApps(t, f, stackScripts()) },
		"replica set":   func(t *testing.T, f *failures) *bootCluster { return replicaSetApps(t, f, stackScripts(), nil) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := &failures{t: t}
			if c := world(t, f); len(f.list) == 0 {
				appCreatedOnBothNodes(c, f)
			}
			for _, msg := range f.list {
				t.Error(msg)
			}
		})
	}
}

// TestSandboxCatchesV14AppCreation runs main's scripts of stop 14
// (testdata/v14) on the URL main built then, which a 3.0.3 node refuses
// to give create_app.sh: the application must be missing from both nodes.
// On the URL the stack builds now, the same scripts must create it on both.
func TestSandboxCatchesV14AppCreation(t *testing.T) {
	v14Replica := scriptSet{
		name:  "v14-replica",
		mongo: func(c *bootCluster) string { return v14Script(c.t, "mongo-bootstrap.sh") },
		ams:   func(c *bootCluster, role string) string { return v14Script(c.t, "replica-ams-"+role+".sh") },
	}
	worlds := map[string]func(t *testing.T, f *failures, v14URL bool) *bootCluster{
		"single member": func(t *testing.T, f *failures, v14URL bool) *bootCluster {
			c := singleMemberApps(t, f, v14Scripts())
			if v14URL {
				c.w.AWS.PutParameter(c.urlParam, v14DatabaseURL(c, []string{c.mongoIP}), true)
			}
			return c
		},
		"replica set": func(t *testing.T, f *failures, v14URL bool) *bootCluster {
			var members []string
			for i := 0; i < 3; i++ {
				members = append(members, v14Script(t, fmt.Sprintf("mongo-member-%d.sh", i)))
			}
			c := replicaSetApps(t, f, v14Replica, members)
			if v14URL {
				var ips []string
				for _, m := range replicaClusterOf(c).members {
					ips = append(ips, m.ip)
				}
				c.w.AWS.PutParameter(c.urlParam, v14DatabaseURL(c, ips), true)
			}
			return c
		},
	}
	for name, world := range worlds {
		for _, v14URL := range []bool{true, false} {
			url := map[bool]string{true: "today's URL", false: "the stack's URL"}[v14URL]
			t.Run(name+" on "+url, func(t *testing.T) {
				t.Parallel()
				f := &failures{t: t}
				c := world(t, f, v14URL)
				if len(f.list) > 0 {
					t.Fatalf("the database did not come up:\n  %s", strings.Join(f.list, "\n  "))
				}
				appCreatedOnBothNodes(c, f)
				caught := slices.ContainsFunc(f.list, func(s string) bool { return strings.Contains(s, "does not run the application") })
				switch {
				case v14URL && !caught:
					t.Errorf("the sandbox did not catch the refused application creation on %s: failures:\n  %s", url, strings.Join(f.list, "\n  "))
				case !v14URL:
					for _, msg := range f.list {
						t.Error(msg)
					}
				}
			})
		}
	}
}

// v14DatabaseURL is the database URL main built at stop 14 (f43a39b,
// components/mongonode.go mongoURL): authSource for one member, the
// replica set's name and authSource for several.
func v14DatabaseURL(c *bootCluster, ips []string) string {
	if len(ips) == 1 {
		return fmt.Sprintf("mongodb://ams:%s@%s:27017/?authSource=admin", c.appPassword(), ips[0])
	}
	hosts := make([]string, len(ips))
	for i, ip := range ips {
		hosts[i] = ip + ":27017"
	}
	return fmt.Sprintf("mongodb://ams:%s@%s/?replicaSet=ams&authSource=admin", c.appPassword(), strings.Join(hosts, ","))
}

// singleMemberApps deploys the dev stack and boots its MongoDB node.
func singleMemberApps(t *testing.T, f *failures, scripts scriptSet) *bootCluster {
	t.Helper()
	c := newBootCluster(t, scripts)
	mongo := c.mongoNode(c.mongoID, 5)
	c.checkRun(f, c.bootMongo(mongo), "the MongoDB boot script")
	return c
}

// replicaSetApps deploys the stack with a three-member replica set and
// boots the members, with memberScripts in place of the stack's when given.
func replicaSetApps(t *testing.T, f *failures, scripts scriptSet, memberScripts []string) *bootCluster {
	t.Helper()
	c := newBootClusterWith(t, scripts, replicaConfig())
	set := replicaClusterOf(c)
	for i, s := range memberScripts {
		set.members[i].script = s
	}
	members, _ := set.bootAll(f, []int{0, 1, 2})
	set.checkSet(f, members, "before the AMS nodes")
	return c
}

// appCreatedOnBothNodes boots an origin, creates the application through
// its panel as the stack's administrator, boots an edge, and checks that
// both nodes run the application on the cluster's database. The URL is
// the one the nodes read from the stack's parameter.
func appCreatedOnBothNodes(c *bootCluster, f *failures) {
	url, _ := c.w.AWS.Parameter(c.urlParam)
	origin := c.amsNode(components.RoleOrigin, "i-0a1b2c3d4e5f60301", "10.20.0.80")
	c.checkRun(f, c.bootAMS(origin, components.RoleOrigin).Wait(), "the origin's boot script")
	status, body := c.panelRequest(f, origin, http.MethodPost, "/rest/v2/applications/"+appName)
	f.check(status == http.StatusOK && strings.Contains(body, `"success":true`),
		"the origin's panel did not create the application %s: %d %.160s", appName, status, body)
	edge := c.amsNode(components.RoleEdge, "i-0a1b2c3d4e5f60302", "10.20.0.81")
	c.checkRun(f, c.bootAMS(edge, components.RoleEdge).Wait(), "the edge's boot script")
	for _, node := range []struct {
		who string
		n   *sandbox.Node
	}{{"the origin", origin}, {"the edge, which joined after the creation", edge}} {
		apps, err := node.n.AMS().Apps()
		i := slices.IndexFunc(apps, func(a sandbox.AMSApp) bool { return a.Name == appName })
		if err != nil || i < 0 {
			var names []string
			for _, a := range apps {
				names = append(names, a.Name)
			}
			f.check(false, "%s does not run the application %s (it runs %v, %v); its server log says:\n%s",
				node.who, appName, names, err, c.redactSecrets(tail(grepLines(node.n.AMS().ServerLog(), "create_app.sh"), 4)))
			continue
		}
		app := apps[i]
		f.check(app.DBType == "mongodb" && app.DBHost == url, "%s's application %s uses %s database %s, want the cluster's mongodb URL %s",
			node.who, appName, app.DBType, redact(app.DBHost), redact(url))
		conn, err := c.w.DialMongo(app.DBHost, node.n.PrivateIP)
		f.check(err == nil, "%s's application %s cannot reach its database: %v", node.who, appName, err)
		if err == nil {
			conn.Close()
		}
		status, _ := c.panelRequest(f, node.n, http.MethodGet, "/"+appName+"/rest/v2/broadcasts/list/0/10")
		f.check(status == http.StatusOK, "%s's application %s answers %d on its REST API, want 200", node.who, appName, status)
	}
}

// panelRequest sends a request to a node's server as the stack's panel
// administrator, logged in as the boot scripts do (the MD5 of the
// password, POST users/authenticate), and returns the status and body.
func (c *bootCluster) panelRequest(f *failures, n *sandbox.Node, method, path string) (int, string) {
	client := &http.Client{Timeout: 30 * time.Second}
	login := fmt.Sprintf(`{"email":%q,"password":%q}`, c.panelEmail, md5hex(c.panelPassword()))
	resp, err := client.Post(n.AMS().URL()+"/rest/v2/users/authenticate", "application/json", strings.NewReader(login))
	if err != nil {
		f.check(false, "logging in to the panel of %s: %v", n.ID, err)
		return 0, ""
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"success":true`) {
		f.check(false, "the panel of %s refused the stack's administrator: %s", n.ID, body)
		return 0, ""
	}
	req, _ := http.NewRequest(method, n.AMS().URL()+path, nil)
	req.Header.Set("Content-Type", "application/json")
	for _, ck := range resp.Cookies() {
		req.AddCookie(ck)
	}
	resp, err = client.Do(req)
	if err != nil {
		f.check(false, "%s %s on %s: %v", method, path, n.ID, err)
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// grepLines keeps the lines of s that hold sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// redactSecrets masks every secret value of the cluster in s.
func (c *bootCluster) redactSecrets(s string) string {
	for _, v := range c.secrets() {
		if v != "" {
			s = strings.ReplaceAll(s, v, "***")
		}
	}
	return s
}

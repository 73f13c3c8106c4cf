package tests

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// bootCluster is the dev stack as the mocks deployed it, turned into a
// sandbox world: the AWS stand-in holds the parameters and IAM policies the
// stack registered, and the nodes run the boot scripts it rendered.
type bootCluster struct {
	t *testing.T
	r *run
	w *sandbox.World
	// scripts are the boot scripts under test: the stack's, or the seed's.
	scripts scriptSet

	mongoID, mongoIP, mongoRole, volumeID string
	volume                                *sandbox.Volume
	amsRoles, groups, launchHooks         map[string]string // by role
	drainHooks                            map[string]string // by role
	metadataTags                          map[string]bool   // by role: instance tags in IMDS
	params                                map[string]string // parameter name -> value
	secureParams                          map[string]bool
	urlParam, readyParam, panelParam      string
	adminParam, appParam                  string
	panelEmail                            string
	// seedAWSCLI gives the nodes the AWS CLI, which the seed scripts need
	// (they install it from the snap store, which the sandbox cannot reach).
	seedAWSCLI bool
}

// scriptSet renders the boot scripts of a cluster.
type scriptSet struct {
	name  string
	mongo func(c *bootCluster) string
	ams   func(c *bootCluster, role string) string
}

// stackScripts are the boot scripts the stack renders today.
func stackScripts() scriptSet {
	return scriptSet{
		name: "stack",
		mongo: func(c *bootCluster) string {
			return userData(c.t, c.r.one(c.t, "aws:ec2/instance:Instance", "-mongo"))
		},
		ams: func(c *bootCluster, role string) string {
			return userData(c.t, c.r.one(c.t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role))
		},
	}
}

// seedScripts are the boot scripts of the seed cluster (commit 962ca09),
// kept in testdata to prove that the sandbox catches their defects.
func seedScripts() scriptSet {
	render := func(t *testing.T, file string, data any) string {
		t.Helper()
		src, err := os.ReadFile(filepath.Join("testdata", "seed", file))
		if err != nil {
			t.Fatal(err)
		}
		tmpl := template.Must(template.New(file).Option("missingkey=error").Funcs(template.FuncMap{
			"shq": func(v any) string { return "'" + strings.ReplaceAll(fmt.Sprint(v), "'", `'\''`) + "'" },
		}).Parse(string(src)))
		var out bytes.Buffer
		if err := tmpl.Execute(&out, data); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	return scriptSet{
		name: "seed",
		mongo: func(c *bootCluster) string {
			return render(c.t, "mongo-bootstrap.sh", components.MongoBootstrap{
				Region: region, DataVolumeID: c.volumeID, MongoVersion: "8.0",
				AdminUser: "admin", AdminPasswordParameter: c.adminParam,
				AppUser: "ams", AppPasswordParameter: c.appParam,
			})
		},
		ams: func(c *bootCluster, role string) string {
			return render(c.t, "ams-bootstrap.sh", components.AMSBootstrap{
				Role: role, Region: region, DatabaseURLParameter: c.urlParam,
				PanelAdminEmail: c.panelEmail, PanelAdminPasswordParameter: c.panelParam,
			})
		},
	}
}

// newBootCluster deploys the dev stack under mocks and builds the world
// its nodes boot in.
func newBootCluster(t *testing.T, scripts scriptSet) *bootCluster {
	t.Helper()
	return newBootClusterWith(t, scripts, nil)
}

// newBootClusterWith is newBootCluster with configuration overrides on top
// of the panel administrator's e-mail.
func newBootClusterWith(t *testing.T, scripts scriptSet, overrides map[string]string) *bootCluster {
	t.Helper()
	sandbox.Require(t)
	cfg := map[string]string{"panelAdminEmail": "ops@example.com"}
	for k, v := range overrides {
		cfg[k] = v
	}
	r := deploy(t, cfg)
	c := &bootCluster{
		t: t, r: r, scripts: scripts, w: sandbox.NewWorld(t, region, account),
		amsRoles: map[string]string{}, groups: map[string]string{}, launchHooks: map[string]string{}, drainHooks: map[string]string{},
		metadataTags: map[string]bool{}, panelEmail: "ops@example.com",
	}
	p := seedWorld(t, r, c.w)
	c.params, c.secureParams = p.values, p.secure
	c.urlParam, c.readyParam, c.adminParam, c.appParam, c.panelParam = p.url, p.ready, p.admin, p.app, p.panel
	if c.urlParam == "" || c.adminParam == "" || c.appParam == "" || c.panelParam == "" {
		t.Fatalf("the stack registered parameters %v; want the MongoDB URL, passwords and the panel password", keys(c.params))
	}
	instance := r.one(t, "aws:ec2/instance:Instance", "-mongo")
	c.mongoID = instance.ID
	c.mongoRole = c.roleOfProfile(instance.str("iamInstanceProfile"))
	c.mongoIP = stateString(r.one(t, "aws:ec2/networkInterface:NetworkInterface", "-mongo"), "privateIp")
	c.volumeID = r.one(t, "aws:ebs/volume:Volume", "-mongo-data").ID
	c.volume = c.w.NewVolume(c.volumeID)
	for _, role := range []string{components.RoleOrigin, components.RoleEdge} {
		lt := r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role)
		c.amsRoles[role] = c.roleOfProfile(lt.str("iamInstanceProfile.arn"))
		c.metadataTags[role] = lt.str("metadataOptions.instanceMetadataTags") == "enabled"
		asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
		c.groups[role] = stateString(asg, "name")
		hook := asg.str("initialLifecycleHooks.0.name")
		var hooks []sandbox.LifecycleHook
		// The seed stack had no launching hook: its nodes went into service
		// as soon as they launched.
		if hook != "" && scripts.name != "seed" {
			c.launchHooks[role] = hook
			hooks = append(hooks, sandbox.LifecycleHook{
				Name: hook, Transition: asg.str("initialLifecycleHooks.0.lifecycleTransition"),
				HeartbeatTimeout: int(asg.num("initialLifecycleHooks.0.heartbeatTimeout")),
				DefaultResult:    asg.str("initialLifecycleHooks.0.defaultResult"),
			})
		}
		if scripts.name != "seed" {
			drain := r.one(t, "aws:autoscaling/lifecycleHook:LifecycleHook", "-"+role+"-drain")
			c.drainHooks[role] = drain.str("name")
			hooks = append(hooks, sandbox.LifecycleHook{
				Name: drain.str("name"), Transition: drain.str("lifecycleTransition"),
				HeartbeatTimeout: int(drain.num("heartbeatTimeout")), DefaultResult: drain.str("defaultResult"),
			})
		}
		c.w.AWS.AddGroup(c.groups[role], hooks...)
		tags := map[string]string{}
		for i := 0; ; i++ {
			k := asg.str(fmt.Sprintf("tags.%d.key", i))
			if k == "" {
				break
			}
			tags[k] = asg.str(fmt.Sprintf("tags.%d.value", i))
		}
		c.w.AWS.TagGroup(c.groups[role], tags)
	}
	return c
}

// roleOfProfile is the IAM role name behind an instance profile name or ARN.
func (c *bootCluster) roleOfProfile(profile string) string {
	c.t.Helper()
	for _, p := range c.r.ofType("aws:iam/instanceProfile:InstanceProfile") {
		if stateString(p, "arn") == profile || stateString(p, "name") == profile {
			if role := c.r.byID(p.str("role")); role != nil {
				return stateString(role, "name")
			}
			return p.str("role")
		}
	}
	c.t.Fatalf("no instance profile %s", profile)
	return ""
}

// mongoNode launches a MongoDB instance (first, or a replacement: the
// network interface keeps the address) with the data volume attached; its
// device appears after deviceDelay seconds.
func (c *bootCluster) mongoNode(id string, deviceDelay int) *sandbox.Node {
	c.t.Helper()
	n := c.w.NewNode(sandbox.NodeSpec{InstanceID: id, PrivateIP: c.mongoIP, Image: sandbox.ImageUbuntu, Role: c.mongoRole, HasAWSCLI: c.seedAWSCLI})
	n.AttachVolume(c.volume, deviceDelay)
	return n
}

// amsNode launches an AMS node of a role through its Auto Scaling group.
func (c *bootCluster) amsNode(role, id, ip string, opts ...func(*sandbox.NodeSpec)) *sandbox.Node {
	c.t.Helper()
	spec := c.amsSpec(role, id, ip, opts...)
	c.w.AWS.Launch(spec.Group, id)
	return c.w.NewNode(spec)
}

// amsSpec is the instance an AMS node of a role launches as.
func (c *bootCluster) amsSpec(role, id, ip string, opts ...func(*sandbox.NodeSpec)) sandbox.NodeSpec {
	spec := sandbox.NodeSpec{
		InstanceID: id, PrivateIP: ip, Image: sandbox.ImageAMS, Role: c.amsRoles[role], Group: c.groups[role],
		InstanceMetadataTags: c.metadataTags[role],
	}
	for _, o := range opts {
		o(&spec)
	}
	return spec
}

// withAWSCLI gives the node's image the AWS CLI, as the seed scripts assume.
func withAWSCLI(s *sandbox.NodeSpec) { s.HasAWSCLI = true }

func (c *bootCluster) appPassword() string   { return c.params[c.appParam] }
func (c *bootCluster) adminPassword() string { return c.params[c.adminParam] }
func (c *bootCluster) panelPassword() string { return c.params[c.panelParam] }

// secrets are every secret value the cluster holds.
func (c *bootCluster) secrets() map[string]string {
	out := map[string]string{}
	for name, v := range c.params {
		if c.secureParams[name] {
			out[name] = v
		}
	}
	return out
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// failures collects the properties a scenario found broken.
type failures struct {
	t    *testing.T
	list []string
}

func (f *failures) check(ok bool, format string, args ...any) {
	if !ok {
		f.list = append(f.list, fmt.Sprintf(format, args...))
	}
}

// waitFor polls cond for up to limit of real time.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cond()
}

// stackParameters are the SSM parameters a deployment registered, by name,
// and the names of those the boot scripts read.
type stackParameters struct {
	values                        map[string]string
	secure                        map[string]bool
	url, ready, admin, app, panel string
}

// seedWorld puts into w what the deployment r would leave in AWS before any
// node boots: every SSM parameter with its value, and every role with the
// inline policy the stack gave it.
func seedWorld(t *testing.T, r *run, w *sandbox.World) stackParameters {
	t.Helper()
	p := stackParameters{values: map[string]string{}, secure: map[string]bool{}}
	for _, param := range r.ofType("aws:ssm/parameter:Parameter") {
		name := param.str("name")
		p.values[name] = param.str("value")
		if p.values[name] == "" {
			p.values[name] = param.str("insecureValue")
		}
		p.secure[name] = param.str("type") == "SecureString"
		w.AWS.PutParameter(name, p.values[name], p.secure[name])
		switch {
		case strings.HasSuffix(name, "/mongodb/url"):
			p.url = name
		case strings.HasSuffix(name, "/mongodb/ready"):
			p.ready = name
		case strings.HasSuffix(name, "/mongodb/admin-password"):
			p.admin = name
		case strings.HasSuffix(name, "/mongodb/app-password"):
			p.app = name
		case strings.HasSuffix(name, "/panel/admin-password"):
			p.panel = name
		}
	}
	for _, rp := range r.ofType("aws:iam/rolePolicy:RolePolicy") {
		role := r.byID(rp.str("role"))
		if role == nil {
			t.Fatalf("role policy %s names an unknown role %s", rp.Name, rp.str("role"))
		}
		w.AWS.AddRole(stateString(role, "name"), rp.str("policy"))
	}
	return p
}

// continued checks that node n completed its launch with CONTINUE and is
// in service; who names it in the failure.
func (c *bootCluster) continued(f *failures, n *sandbox.Node, who string) {
	f.check(c.w.AWS.LifecycleResult(n.ID) == "CONTINUE" && c.inService(n.ID),
		"%s's launch ended %q in state %s, want CONTINUE and InService", who, c.w.AWS.LifecycleResult(n.ID), c.w.AWS.LifecycleState(n.ID))
}

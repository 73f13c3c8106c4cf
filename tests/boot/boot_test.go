package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// The boot scripts, run for real in the node sandbox against stand-ins of
// AWS (IMDSv2, SSM with the stack's IAM policies, Auto Scaling lifecycle),
// MongoDB and Ant Media Server. Each scenario returns the properties it
// found broken; TestBootScenarios wants none from the stack's scripts, and
// TestSandboxCatchesSeedDefects wants each seed defect to break its property.

func scenarios() map[string]scenario {
	return map[string]scenario{
		"mongo first boot on a blank volume":          mongoFirstBoot,
		"mongo reboot with a slow device":             mongoReboot,
		"mongo replacement keeps the volume":          mongoReplacement,
		"mongo interrupted after the admin user":      mongoInterruptedAfterAdmin,
		"mongo interrupted at every step":             mongoInterruptedAnywhere,
		"mongo first boot fails early then converges": mongoFailsEarlyThenConverges,
		"ams waits for a late database":               amsWaitsForDatabase,
		"ams interrupted while joining resumes":       amsInterruptedWhileJoining,
		"ams fails loudly without a database":         amsFailsWithoutDatabase,
		"two ams nodes claim the panel once":          twoNodesClaimOnce,
		"ams refuses a panel claimed by someone else": panelClaimedBySomeoneElse,
		"secrets stay off command lines and logs":     secretsStayPrivate,
		"ams boot installs nothing and retries aws":   amsInstallsNothingAndRetries,
		"log shipping never stops a boot":             logShippingNeverStopsABoot,
		// Warm pools, the agent and the drain: tests/lifecycle
		// (lifecycleScenarios, boot_lifecycle_test.go).
	}
}

// ----- MongoDB ----------------------------------------------------------------

// mongoServes checks what AMS nodes need of MongoDB: authorization on,
// reachable on the private address, the data on the volume, both users.
func (c *bootCluster) mongoServes(f *failures, n *sandbox.Node, when string) {
	st := n.MongoStatus()
	f.check(st.Running, "%s: mongod is not running", when)
	f.check(st.Authorization, "%s: mongod runs without authorization", when)
	f.check(slices.Contains(st.BindIP, c.mongoIP), "%s: mongod listens on %v, not on the private address %s", when, st.BindIP, c.mongoIP)
	f.check(strings.HasPrefix(st.DataDir, c.volume.Files()), "%s mongod serves %s, not the data volume", when, st.DataDir)
	f.check(n.MongoAuthenticates("ams", c.appPassword()), "%s: MongoDB on %s cannot authenticate as ams", when, c.mongoIP)
	f.check(n.MongoAuthenticates("admin", c.adminPassword()), "%s: MongoDB on %s cannot authenticate as admin", when, c.mongoIP)
	f.check(!n.MongoAuthenticates("ams", "not-the-password"), "%s: MongoDB accepts a wrong password", when)
}

// readyValue is what the MongoDB node must publish for the AMS nodes.
func (c *bootCluster) readyValue() string {
	sum := sha256.Sum256([]byte("ams:" + c.appPassword()))
	return "ready sha256:" + hex.EncodeToString(sum[:])
}

func (c *bootCluster) checkReady(f *failures, when string) {
	if c.readyParam == "" {
		f.check(false, "%s: the stack has no readiness parameter", when)
		return
	}
	got, _ := c.w.AWS.Parameter(c.readyParam)
	f.check(got == c.readyValue(), "%s: %s = %q, want the fingerprint of the application credentials", when, c.readyParam, got)
}

func mongoFirstBoot(c *bootCluster) []string {
	f := &failures{t: c.t}
	n := c.mongoNode(c.mongoID, 15)
	c.checkRun(f, c.bootMongo(n), "the MongoDB boot script")
	f.check(c.volume.Formatted(), "the data volume was not formatted")
	vol, mounted := n.Mounted("/var/lib/mongodb")
	f.check(mounted && vol == c.volumeID, "the data volume is not mounted at /var/lib/mongodb (mounted: %v %s)", mounted, vol)
	c.mongoServes(f, n, "after the first boot")
	c.checkReady(f, "after the first boot")
	return f.list
}

func mongoReboot(c *bootCluster) []string {
	f := &failures{t: c.t}
	n := c.mongoNode(c.mongoID, 15)
	c.checkRun(f, c.bootMongo(n), "the MongoDB boot script")
	// On the way back up the volume's device takes half a minute to appear.
	n.Reboot(30)
	checkBoot(f, n, "the boot after the reboot")
	c.mongoServes(f, n, "after the reboot")
	c.checkReady(f, "after the reboot")
	return f.list
}

func mongoReplacement(c *bootCluster) []string {
	f := &failures{t: c.t}
	first := c.mongoNode(c.mongoID, 15)
	c.checkRun(f, c.bootMongo(first), "the first MongoDB boot")
	uuid := c.volume.FileSystemUUID()
	first.Terminate()
	// The replacement gets the same network interface and the same volume.
	second := c.mongoNode("i-0f1e2d3c4b5a69788", 40)
	c.checkRun(f, c.bootMongo(second), "the replacement's boot script")
	f.check(c.volume.FileSystemUUID() == uuid, "the replacement reformatted the data volume (%s -> %s)", uuid, c.volume.FileSystemUUID())
	c.mongoServes(f, second, "on the replacement")
	c.checkReady(f, "on the replacement")
	return f.list
}

// mongoInterruptedAfterAdmin cuts the power of a first boot once the admin
// user exists and the application user does not yet, and starts the
// instance again: cloud-init does not run the user data again, so the next
// start alone must converge.
func mongoInterruptedAfterAdmin(c *bootCluster) []string {
	f := &failures{t: c.t}
	n := c.mongoNode(c.mongoID, 15)
	// The power goes off the moment mongod has stored the admin user,
	// before the mongosh that asked has its answer: the application user
	// is still missing. A breakpoint, not a race: the window is one
	// mongosh command wide. The boot unit may go on after the user data
	// gave up waiting for it (the adversarial timing refuses the first
	// calls), so the cut waits for the user, not for the user data.
	adminCreated := sandbox.EventMongoUserCreated("admin.admin")
	n.HaltAt(adminCreated)
	run := n.StartUserData("mongo-bootstrap.sh", c.scripts.mongo(c))
	waitFor(120*time.Second, func() bool { return n.HaltedAt(adminCreated) })
	n.PowerOff()
	run.Wait()
	users, _ := n.MongoUsers()
	c.t.Logf("the cut left the users %v", users)
	f.check(n.HaltedAt(adminCreated) && slices.Equal(users, []string{"admin.admin"}),
		"the cut was not between the two users (users %v); the test proves nothing", users)
	n.Reboot(10)
	checkBoot(f, n, "the start after the interruption")
	c.mongoServes(f, n, "after the interrupted boot was resumed")
	c.checkReady(f, "after the interrupted boot was resumed")
	return f.list
}

// interruptFirstBoot runs the MongoDB user data until the boot's output
// shows marker, then cuts the power.
func (c *bootCluster) interruptFirstBoot(n *sandbox.Node, marker string) {
	c.t.Helper()
	run := n.StartUserData("mongo-bootstrap.sh", c.scripts.mongo(c))
	found := waitFor(120*time.Second, func() bool { return strings.Contains(run.Output(), marker) || run.Done() })
	n.PowerOff()
	res := run.Wait()
	if !found || !strings.Contains(run.Output(), marker) {
		c.t.Fatalf("the MongoDB boot never printed %q:\n%s", marker, tail(res.Output, 20))
	}
}

// mongoInterruptedAnywhere cuts the power at each step of a first boot,
// each time on a fresh cluster, and checks that the next start converges
// without the user data running again.
func mongoInterruptedAnywhere(c *bootCluster) []string {
	f := &failures{t: c.t}
	for _, marker := range []string{"formatting the blank data volume", "mounted at", "created admin", "created ams"} {
		fresh := newBootCluster(c.t, c.scripts).timed(c.w.Timing())
		n := fresh.mongoNode(fresh.mongoID, 5)
		fresh.interruptFirstBoot(n, marker)
		n.Reboot(5)
		checkBoot(f, n, "the start after an interruption at "+marker)
		fresh.mongoServes(f, n, "after an interruption at "+marker)
		fresh.checkReady(f, "after an interruption at "+marker)
		fresh.userDataRanOnce(f, n, "after an interruption at "+marker)
	}
	return f.list
}

// mongoFailsEarlyThenConverges boots MongoDB while its instance role is
// still refused (the first seconds of fresh credentials, as IAM propagates)
// and its apt mirror fails: the first attempts fail; the boot converges
// with no human step, readiness published, the user data run once.
func mongoFailsEarlyThenConverges(c *bootCluster) []string {
	f := &failures{t: c.t}
	n := c.mongoNode(c.mongoID, 5)
	restore := c.w.AWS.RefuseRole(c.mongoRole)
	run := n.StartUserData("mongo-bootstrap.sh", c.scripts.mongo(c))
	waitFor(120*time.Second, func() bool { return strings.Contains(run.Output(), "FAILED") || run.Done() })
	restore()
	res := run.Wait()
	progress := run.Output()
	f.check(strings.Contains(progress, "FAILED"), "the first attempt did not fail on the refused role; the test proves nothing:\n%s", tail(progress, 10))
	if res.Err != nil {
		c.t.Logf("the first boot gave up (%d); the next start must converge", res.ExitCode)
	}
	// Whether the first boot converged or gave up, the next start serves.
	n.Reboot(5)
	checkBoot(f, n, "the start after an early failure")
	c.mongoServes(f, n, "after an early failure")
	c.checkReady(f, "after an early failure")
	c.userDataRanOnce(f, n, "after an early failure")
	return f.list
}

// userDataRanOnce checks that the user data's first command ran once: a
// real machine never runs it again.
func (c *bootCluster) userDataRanOnce(f *failures, n *sandbox.Node, when string) {
	code, out := n.CloudInitStatus()
	f.check(code == 0 || code == 1, "%s: cloud-init status exited %d: %s", when, code, out)
	f.check(strings.Contains(n.Journal("cloud-final.service"), "already ran"), "%s: cloud-final did not skip the user data at the next start", when)
}

// ----- Ant Media Server nodes -----------------------------------------------

func (c *bootCluster) amsNodeFor(role, id, ip string) *sandbox.Node {
	if c.seedAWSCLI {
		return c.amsNode(role, id, ip, withAWSCLI)
	}
	return c.amsNode(role, id, ip)
}

func amsWaitsForDatabase(c *bootCluster) []string {
	f := &failures{t: c.t}
	mongo := c.mongoNode(c.mongoID, 5)
	origin := c.amsNodeFor(components.RoleOrigin, "i-0a1b2c3d4e5f60001", "10.20.0.40")
	run := c.bootAMS(origin, components.RoleOrigin)
	// Give the node time to reach its wait (or, wrongly, to go on and join);
	// the bound is generous, since a loaded machine runs the boot slowly and
	// the wait ends as soon as either happens.
	waitFor(120*time.Second, func() bool {
		mode, _ := origin.AMSMode()
		return strings.Contains(run.Output(), "waiting for the database") || mode == "cluster" || run.Done()
	})
	mode, _ := origin.AMSMode()
	f.check(mode != "cluster", "the node joined the cluster while the database was not ready")
	unclaimed, _ := origin.AMS().Users()
	f.check(!c.inService(origin.ID) || len(unclaimed) > 0, "the node was in service before the panel was claimed")
	c.checkRun(f, c.bootMongo(mongo), "the MongoDB boot script")
	res := run.Wait()
	c.checkRun(f, res, "the origin's boot script")
	mode, url := origin.AMSMode()
	f.check(mode == "cluster" && url == c.params[c.urlParam], "the node runs in mode %q with database %q, want cluster mode with the stack's URL", mode, redact(url))
	c.panelIsOurs(f, origin, "after the origin booted")
	c.continued(f, origin, "the node")
	return f.list
}

// amsInterruptedWhileJoining cuts the power while an AMS node switches to
// cluster mode, before it claimed the panel or completed its launch; at
// the next start ams-node.service must finish the job.
func amsInterruptedWhileJoining(c *bootCluster) []string {
	f := &failures{t: c.t}
	mongo := c.mongoNode(c.mongoID, 5)
	c.checkRun(f, c.bootMongo(mongo), "the MongoDB boot script")
	origin := c.amsNode(components.RoleOrigin, "i-0a1b2c3d4e5f60009", "10.20.0.48")
	run := c.bootAMS(origin, components.RoleOrigin)
	if !waitFor(60*time.Second, func() bool { return strings.Contains(run.Output(), "joining the cluster") }) {
		f.check(false, "the origin never reached the join:\n%s", tail(run.Stop().Output, 15))
		return f.list
	}
	origin.PowerOff()
	run.Wait()
	f.check(!c.inService(origin.ID), "the interrupted node is in service")
	origin.Reboot(5)
	checkBoot(f, origin, "the start after the interruption")
	c.checkUnit(f, origin, "ams-node.service", "after the interruption")
	c.checkUnit(f, origin, "ams-agent.service", "after the interruption")
	mode, url := origin.AMSMode()
	f.check(mode == "cluster" && url == c.params[c.urlParam], "after resuming the node runs in mode %q with database %q", mode, redact(url))
	c.panelIsOurs(f, origin, "after the interrupted node resumed")
	c.continued(f, origin, "the resumed node")
	return f.list
}

func amsFailsWithoutDatabase(c *bootCluster) []string {
	f := &failures{t: c.t}
	c.mongoNode(c.mongoID, 5) // launched, but its boot never finishes
	edge := c.amsNodeFor(components.RoleEdge, "i-0a1b2c3d4e5f60002", "10.20.0.41")
	res := c.bootAMS(edge, components.RoleEdge).Wait()
	f.check(res.Err != nil, "the boot script exited 0 without a database:\n%s", tail(res.Output, 15))
	f.check(!strings.HasSuffix(strings.TrimSpace(res.Output), "ready"), "the boot script says ready without a database")
	f.check(strings.Contains(res.Output, "did not become ready within"), "the boot log does not say the database never became ready:\n%s", tail(res.Output, 10))
	f.check(c.w.AWS.LifecycleResult(edge.ID) == "ABANDON", "the launch ended %q, want ABANDON", c.w.AWS.LifecycleResult(edge.ID))
	f.check(!c.inService(edge.ID), "the node without a database went into service")
	return f.list
}

func twoNodesClaimOnce(c *bootCluster) []string {
	f := &failures{t: c.t}
	mongo := c.mongoNode(c.mongoID, 5)
	c.checkRun(f, c.bootMongo(mongo), "the MongoDB boot script")
	origin := c.amsNodeFor(components.RoleOrigin, "i-0a1b2c3d4e5f60003", "10.20.0.42")
	edge := c.amsNodeFor(components.RoleEdge, "i-0a1b2c3d4e5f60004", "10.20.0.43")
	a, b := c.bootAMS(origin, components.RoleOrigin), c.bootAMS(edge, components.RoleEdge)
	c.checkRun(f, a.Wait(), "the origin's boot script")
	c.checkRun(f, b.Wait(), "the edge's boot script")
	c.panelIsOurs(f, origin, "after both nodes booted")
	for _, n := range []*sandbox.Node{origin, edge} {
		f.check(c.w.AWS.LifecycleResult(n.ID) == "CONTINUE", "%s's launch ended %q, want CONTINUE", n.ID, c.w.AWS.LifecycleResult(n.ID))
	}
	return f.list
}

func panelClaimedBySomeoneElse(c *bootCluster) []string {
	f := &failures{t: c.t}
	mongo := c.mongoNode(c.mongoID, 5)
	c.checkRun(f, c.bootMongo(mongo), "the MongoDB boot script")
	// Somebody claims the empty panel first, with a password of their own.
	ours := c.panelPassword()
	c.w.AWS.PutParameter(c.panelParam, "someone-elses-password", true)
	intruder := c.amsNodeFor(components.RoleOrigin, "i-0a1b2c3d4e5f60005", "10.20.0.44")
	c.bootAMS(intruder, components.RoleOrigin).Wait()
	c.w.AWS.PutParameter(c.panelParam, ours, true)
	origin := c.amsNodeFor(components.RoleOrigin, "i-0a1b2c3d4e5f60006", "10.20.0.45")
	res := c.bootAMS(origin, components.RoleOrigin).Wait()
	f.check(res.Err != nil, "a node accepted a panel claimed by someone else:\n%s", tail(res.Output, 10))
	f.check(strings.Contains(res.Output, "claimed by someone else"), "the boot log does not say the panel belongs to someone else:\n%s", tail(res.Output, 10))
	f.check(c.w.AWS.LifecycleResult(origin.ID) == "ABANDON" && !c.inService(origin.ID),
		"the launch ended %q in state %s, want ABANDON, out of service", c.w.AWS.LifecycleResult(origin.ID), c.w.AWS.LifecycleState(origin.ID))
	return f.list
}

// secretsStayPrivate boots a whole cluster and searches every process's
// arguments and every boot log for every secret. The one exception is Ant
// Media's own interface: change_server_mode.sh takes the database URL as its
// argument; it must get it as exactly one argument and be the only one.
func secretsStayPrivate(c *bootCluster) []string {
	f := &failures{t: c.t}
	mongo := c.mongoNode(c.mongoID, 5)
	c.checkRun(f, c.bootMongo(mongo), "the MongoDB boot script")
	origin := c.amsNodeFor(components.RoleOrigin, "i-0a1b2c3d4e5f60007", "10.20.0.46")
	c.checkRun(f, c.bootAMS(origin, components.RoleOrigin).Wait(), "the origin's boot script")
	secrets := c.secrets()
	secrets["md5 of the panel password"] = md5hex(c.panelPassword())
	url := c.params[c.urlParam]
	for _, n := range []*sandbox.Node{mongo, origin} {
		execs := n.Execs()
		f.check(len(execs) > 20, "%s: only %d processes on record; the sandbox is not seeing the script", n.ID, len(execs))
		for _, e := range execs {
			line := strings.Join(e.Argv, " ")
			if strings.HasSuffix(e.Argv[0], "change_server_mode.sh") {
				f.check(len(e.Argv) == 3 && e.Argv[1] == "cluster" && e.Argv[2] == url,
					"change_server_mode.sh got %d arguments %q, want cluster and the URL as one", len(e.Argv)-1, redact(strings.Join(e.Argv[1:], " ")))
				continue
			}
			for name, s := range secrets {
				f.check(!strings.Contains(line, s), "%s: the secret %s is on the command line of %s", n.ID, name, e.Argv[0])
			}
		}
		log, _ := n.ReadFile("/var/log/cloud-init-output.log")
		f.check(len(log) > 0, "%s: no boot log", n.ID)
		for name, s := range secrets {
			f.check(!strings.Contains(log, s), "%s: the boot log contains the secret %s", n.ID, name)
		}
	}
	return f.list
}

// amsInstallsNothingAndRetries boots an AMS node on an image without the
// AWS CLI while SSM throttles: nothing may be installed, and the reads retry.
func amsInstallsNothingAndRetries(c *bootCluster) []string {
	f := &failures{t: c.t}
	mongo := c.mongoNode(c.mongoID, 5)
	c.checkRun(f, c.bootMongo(mongo), "the MongoDB boot script")
	origin := c.amsNode(components.RoleOrigin, "i-0a1b2c3d4e5f60008", "10.20.0.47")
	c.w.AWS.Throttle(3)
	res := c.bootAMS(origin, components.RoleOrigin).Wait()
	for _, e := range origin.Execs() {
		f.check(!slices.Contains([]string{"apt-get", "snap", "pip", "pip3"}, e.Argv[0]), "the AMS boot installs packages at boot: %s", strings.Join(e.Argv, " "))
	}
	c.checkRun(f, res, "the origin's boot script while SSM throttles")
	return f.list
}

// agentConfigOn parses the configuration a node's CloudWatch agent was
// started with, in the agent's schema.
func agentConfigOn(f *failures, n *sandbox.Node) (components.AgentConfig, bool) {
	var cfg components.AgentConfig
	raw, ok := n.AgentConfig()
	if !ok {
		return cfg, false
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	f.check(dec.Decode(&cfg) == nil, "%s: the agent was started with a configuration that is not the agent's JSON: %s", n.ID, raw)
	return cfg, true
}

// logShippingNeverStopsABoot boots MongoDB while S3 refuses the CloudWatch
// agent's package, then an origin after one transient failure, then runs
// a replacement MongoDB node with S3 back: the boots succeed regardless, and
// the agents that start ship files the nodes write to log groups the stack
// created.
func logShippingNeverStopsABoot(c *bootCluster) []string {
	f := &failures{t: c.t}
	groups := map[string]bool{}
	for _, g := range c.r.ofType("aws:cloudwatch/logGroup:LogGroup") {
		groups[stateString(g, "name")] = true
	}
	checkShipping := func(n *sandbox.Node, when string, want ...string) {
		cfg, ok := agentConfigOn(f, n)
		f.check(ok, "%s: the CloudWatch agent was never started", when)
		var files []string
		for _, l := range cfg.Logs.LogsCollected.Files.CollectList {
			files = append(files, l.FilePath)
			f.check(groups[l.LogGroupName], "%s: the agent ships %s to %q, a log group the stack did not create", when, l.FilePath, l.LogGroupName)
			_, err := n.ReadFile(l.FilePath)
			if l.FilePath == components.AMSLogFile || l.FilePath == components.AMSErrorLogFile {
				// Ant Media Server writes these itself; the sandbox's server
				// does not, but its image has the directory they go to.
				_, err = os.Stat(n.Path(filepath.Dir(l.FilePath)))
			}
			f.check(err == nil, "%s: the agent ships %s, which is not on the node after boot: %v", when, l.FilePath, err)
		}
		sort.Strings(files)
		sort.Strings(want)
		f.check(slices.Equal(files, want), "%s: the agent ships %v, want %v", when, files, want)
	}

	c.w.AWS.FailAgentDownloads(1000)
	mongo := c.mongoNode(c.mongoID, 5)
	res := c.bootMongo(mongo)
	c.checkRun(f, res, "the MongoDB boot script while S3 refuses the agent's package")
	c.checkReady(f, "while S3 refuses the agent's package")
	_, started := mongo.AgentConfig()
	f.check(!started, "the agent started without its package")
	f.check(strings.Contains(res.Output, "could not download the CloudWatch agent"), "the boot log does not say the agent is missing:\n%s", tail(res.Output, 10))
	written, err := mongo.ReadFile(components.AgentConfigFile)
	f.check(err == nil && json.Valid([]byte(written)), "the agent's configuration file %s is not JSON (%v): %s", components.AgentConfigFile, err, written)

	c.w.AWS.FailAgentDownloads(1)
	origin := c.amsNodeFor(components.RoleOrigin, "i-0a1b2c3d4e5f60009", "10.20.0.48")
	res = c.bootAMS(origin, components.RoleOrigin).Wait()
	c.checkRun(f, res, "the origin's boot script after one failed download")
	c.continued(f, origin, "the origin")
	checkShipping(origin, "on the origin", components.BootLogFile, components.AMSLogFile, components.AMSErrorLogFile)

	// User data runs once per instance: a MongoDB node that replaces the
	// first, with S3 back, ships its logs.
	mongo.Terminate()
	mongo = c.mongoNode("i-0f1e2d3c4b5a69799", 5)
	c.checkRun(f, c.bootMongo(mongo), "the replacement MongoDB node's boot with S3 back")
	c.mongoServes(f, mongo, "on the replacement with S3 back")
	checkShipping(mongo, "on MongoDB", components.BootLogFile, components.MongoLogFile)
	f.check(c.w.AWS.AgentDownloads() == 2, "the package was downloaded %d times, want once per node", c.w.AWS.AgentDownloads())
	return f.list
}

package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

// The replica set's boot scripts, run for real in the node sandbox: three
// members rendered by the stack with mongoMembers 3 boot in every order,
// are replaced, lag, are cut off, or grow from a single node, and must end
// as one set with one primary, the users on every member, the application
// user authenticating through the stack's URL and readiness published.

// replicaCluster is the stack with three MongoDB members, as a sandbox world.
type replicaCluster struct {
	t                                          *testing.T
	r                                          *run
	w                                          *sandbox.World
	members                                    []replicaMember
	params                                     map[string]string
	secure                                     map[string]bool
	readyParam, urlParam, appParam, adminParam string
}

// replicaMember is one member as the stack registered it.
type replicaMember struct {
	id, ip, role, volumeID, script string
	volume                         *sandbox.Volume
}

func newReplicaCluster(t *testing.T) *replicaCluster {
	t.Helper()
	sandbox.Require(t)
	r := deploy(t, replicaConfig())
	c := &replicaCluster{t: t, r: r, w: sandbox.NewWorld(t, region, account)}
	p := seedWorld(t, r, c.w)
	c.params, c.secure = p.values, p.secure
	c.readyParam, c.urlParam, c.appParam, c.adminParam = p.ready, p.url, p.app, p.admin
	c.addMembers()
	return c
}

// replicaClusterOf is the replica set of a boot cluster deployed with
// replicaConfig, in the same world: its AMS nodes use these members.
func replicaClusterOf(b *bootCluster) *replicaCluster {
	b.t.Helper()
	c := &replicaCluster{t: b.t, r: b.r, w: b.w, params: b.params, secure: b.secureParams,
		readyParam: b.readyParam, urlParam: b.urlParam, appParam: b.appParam, adminParam: b.adminParam}
	c.addMembers()
	return c
}

// addMembers registers the three members the stack rendered, with their
// data volumes.
func (c *replicaCluster) addMembers() {
	c.t.Helper()
	profiles := &bootCluster{t: c.t, r: c.r}
	for _, inst := range mongoMembers(c.t, c.r) {
		suffix := strings.TrimPrefix(inst.Name, "ams-cluster-dev")
		m := replicaMember{
			id:       inst.ID,
			ip:       stateString(c.r.byID(inst.str("networkInterfaces.0.networkInterfaceId")), "privateIp"),
			role:     profiles.roleOfProfile(inst.str("iamInstanceProfile")),
			volumeID: c.r.one(c.t, "aws:ebs/volume:Volume", suffix+"-data").ID,
			script:   userData(c.t, inst),
		}
		m.volume = c.w.NewVolume(m.volumeID)
		c.members = append(c.members, m)
	}
}

// node launches member i's instance (a first one or a replacement: the
// interface keeps the address) with its data volume attached.
func (c *replicaCluster) node(i int, id string) *sandbox.Node {
	c.t.Helper()
	m := c.members[i]
	if id == "" {
		id = m.id
	}
	n := c.w.NewNode(sandbox.NodeSpec{InstanceID: id, PrivateIP: m.ip, Image: sandbox.ImageUbuntu, Role: m.role})
	n.AttachVolume(m.volume, 5)
	return n
}

func (c *replicaCluster) boot(i int, n *sandbox.Node) *sandbox.Running {
	return n.StartUserData("mongo-bootstrap.sh", c.members[i].script)
}

func (c *replicaCluster) readyValue() string {
	sum := sha256.Sum256([]byte("ams:" + c.params[c.appParam]))
	return "ready sha256:" + hex.EncodeToString(sum[:])
}

// checkSet checks what AMS nodes need of the set: one set of three members
// with one primary, member 0 (the highest priority) primary, the users on
// every member, the application user through the stack's URL, readiness
// published, and no secret in any process's arguments.
func (c *replicaCluster) checkSet(f *failures, nodes []*sandbox.Node, when string) {
	settle(nodes)
	primaries := 0
	for i, n := range nodes {
		st := n.MongoReplicaStatus()
		f.check(st.SetName == "ams" && len(st.Members) == 3, "%s: member %d is in set %q with members %v, want set ams with three members", when, i, st.SetName, st.Members)
		if st.State == "PRIMARY" {
			primaries++
		}
		f.check(st.State == "PRIMARY" || st.State == "SECONDARY", "%s: member %d is %q", when, i, st.State)
		users, err := n.MongoUsers()
		f.check(err == nil && slices.Equal(users, []string{"admin.admin", "admin.ams"}), "%s: member %d has users %v (%v), want admin and ams", when, i, users, err)
		ms := n.MongoStatus()
		f.check(ms.Running && ms.Authorization && slices.Contains(ms.BindIP, c.members[i].ip), "%s: member %d runs=%v auth=%v on %v", when, i, ms.Running, ms.Authorization, ms.BindIP)
		f.check(strings.HasPrefix(ms.DataDir, c.members[i].volume.Files()), "%s: member %d serves %s, not its data volume", when, i, ms.DataDir)
		for _, e := range n.Execs() {
			line := strings.Join(e.Argv, " ")
			for name, v := range c.params {
				if c.secure[name] && !strings.HasSuffix(name, "/mongodb/url") && strings.Contains(line, v) {
					f.check(false, "%s: member %d ran %s with the secret %s in its arguments", when, i, e.Argv[0], name)
				}
			}
		}
	}
	f.check(primaries == 1, "%s: %d primaries, want one", when, primaries)
	f.check(nodes[0].MongoReplicaStatus().State == "PRIMARY", "%s: member 0 (priority 2) is %s, want primary", when, nodes[0].MongoReplicaStatus().State)
	conn, err := c.w.DialMongo(c.params[c.urlParam], "10.20.0.99")
	if f.check(err == nil, "%s: the stack's URL does not connect: %v", when, err); err == nil {
		_, err = conn.Find("clusterdb", "clusternode")
		f.check(err == nil, "%s: the application user cannot read the cluster state through the URL: %v", when, err)
		conn.Close()
	}
	got, _ := c.w.AWS.Parameter(c.readyParam)
	f.check(got == c.readyValue(), "%s: %s = %q, want the fingerprint of the application credentials", when, c.readyParam, got)
}

// settle lets up to two minutes pass while a member is not yet primary or
// secondary: a member restarted on a stored configuration loads it first
// (STARTUP), as a real one does before it serves.
func settle(nodes []*sandbox.Node) {
	for waited := 0; waited < 120; waited += 5 {
		ready := true
		for _, n := range nodes {
			if st := n.MongoReplicaStatus().State; st != "PRIMARY" && st != "SECONDARY" {
				ready = false
			}
		}
		if ready {
			return
		}
		nodes[0].Idle(5)
	}
}

// initiations counts the boots that initiated the set.
func initiations(outputs ...string) int {
	n := 0
	for _, o := range outputs {
		n += strings.Count(o, "initiated replica set")
	}
	return n
}

func (c *replicaCluster) wait(f *failures, run *sandbox.Running, what string) string {
	res := run.Wait()
	f.check(res.Err == nil, "%s exited %d%s:\n%s", what, res.ExitCode, map[bool]string{true: " (timed out)"}[res.TimedOut], tail(res.Output, 25))
	return res.Output
}

func replicaScenarios() map[string]func(c *replicaCluster) []string {
	return map[string]func(c *replicaCluster) []string{
		"initiator boots first":         replicaInitiatorFirst,
		"initiator boots last":          replicaInitiatorLast,
		"a member boots long after":     replicaLateMember,
		"replaced members rejoin":       replicaReplacedMembers,
		"interrupted initiator resumes": replicaInterruptedInitiator,
		"interrupted member resumes":    replicaInterruptedMember,
		"one member grows into three":   replicaFromOneMember,
	}
}

// runReplicaScenarios runs the replica set's scenarios under the timings
// given, each world on its one clock (timed): a member's credential
// retries and the initiator's bounded wait for it pass on the same clock,
// which moves only while every process waits. tests/replica runs them
// under the instant timing, tests/replicaadv under the adversarial one.
func runReplicaScenarios(t *testing.T, timings []bootTiming) {
	for _, tm := range timings {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			for name, run := range replicaScenarios() {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					for _, f := range run(newReplicaCluster(t).timed(tm.timing)) {
						t.Error(f)
					}
				})
			}
		})
	}
}

// bootAll boots the members in order, each once the previous one's script
// reached mark (or ended).
func (c *replicaCluster) bootAll(f *failures, order []int) ([]*sandbox.Node, []string) {
	nodes := make([]*sandbox.Node, 3)
	runs := make([]*sandbox.Running, 3)
	for _, i := range order {
		nodes[i] = c.node(i, "")
		runs[i] = c.boot(i, nodes[i])
		if i == 0 {
			// The initiator reaches its wait for the others (or the end).
			waitFor(60*time.Second, func() bool { return strings.Contains(runs[0].Output(), "waiting for members") || runs[0].Done() })
		} else {
			c.wait(f, runs[i], fmt.Sprintf("member %d's boot", i))
		}
	}
	outs := make([]string, 3)
	for i, r := range runs {
		outs[i] = c.wait(f, r, fmt.Sprintf("member %d's boot", i))
	}
	return nodes, outs
}

func replicaInitiatorFirst(c *replicaCluster) []string {
	f := &failures{t: c.t}
	nodes, outs := c.bootAll(f, []int{0, 1, 2})
	f.check(strings.Contains(outs[0], "waiting for members"), "the initiator did not wait for the others:\n%s", tail(outs[0], 10))
	f.check(initiations(outs...) == 1, "the set was initiated %d times, want once", initiations(outs...))
	c.checkSet(f, nodes, "after the initiator booted first")
	return f.list
}

func replicaInitiatorLast(c *replicaCluster) []string {
	f := &failures{t: c.t}
	nodes, outs := c.bootAll(f, []int{2, 1, 0})
	f.check(!strings.Contains(outs[0], "waiting for members"), "the initiator waited though every member was up")
	f.check(initiations(outs...) == 1, "the set was initiated %d times, want once", initiations(outs...))
	c.checkSet(f, nodes, "after the initiator booted last")
	return f.list
}

// replicaLateMember: member 2 comes up long after the others; the initiator
// keeps waiting, backing off and logging, then initiates with all three.
func replicaLateMember(c *replicaCluster) []string {
	f := &failures{t: c.t}
	nodes := []*sandbox.Node{c.node(0, ""), c.node(1, ""), nil}
	first := c.boot(0, nodes[0])
	c.wait(f, c.boot(1, nodes[1]), "member 1's boot")
	lagging := "waiting for members " + c.members[2].ip
	waitFor(90*time.Second, func() bool { return strings.Count(first.Output(), lagging) >= 4 || first.Done() })
	f.check(!first.Done(), "the initiator gave up before the late member came")
	f.check(nodes[0].MongoReplicaStatus().SetName == "", "the initiator initiated before every member answered: %+v", nodes[0].MongoReplicaStatus())
	nodes[2] = c.node(2, "")
	c.wait(f, c.boot(2, nodes[2]), "member 2's boot")
	out := c.wait(f, first, "the initiator's boot")
	f.check(strings.Contains(out, "s)") && strings.Count(out, lagging) >= 4, "the initiator did not log its wait for %s:\n%s", c.members[2].ip, tail(out, 10))
	c.checkSet(f, nodes, "after a late member")
	return f.list
}

// replicaReplacedMembers replaces a secondary, then the initiator: each
// rejoins with its volume and address, nothing initiates again, the data
// written meanwhile is there, and readiness never goes back to pending.
func replicaReplacedMembers(c *replicaCluster) []string {
	f := &failures{t: c.t}
	nodes, outs := c.bootAll(f, []int{1, 2, 0})
	c.checkSet(f, nodes, "before the replacements")
	conn, err := c.w.DialMongo(c.params[c.urlParam], "10.20.0.99")
	if err != nil {
		f.check(false, "the URL does not connect: %v", err)
		return f.list
	}
	defer conn.Close()
	for i, replacement := range map[int]string{2: "i-0f1e2d3c4b5a60002", 0: "i-0f1e2d3c4b5a60000"} {
		uuid := c.members[i].volume.FileSystemUUID()
		nodes[i].Terminate()
		doc := map[string]any{"_id": fmt.Sprintf("written while member %d was gone", i)}
		f.check(conn.InsertUnique("clusterdb", "clusternode", doc, "_id") == nil, "no write while member %d was gone", i)
		nodes[i] = c.node(i, replacement)
		run := c.boot(i, nodes[i])
		for !run.Done() {
			if v, _ := c.w.AWS.Parameter(c.readyParam); v != c.readyValue() {
				f.check(false, "member %d's replacement set readiness to %q while the set served", i, v)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		out := c.wait(f, run, fmt.Sprintf("member %d's replacement", i))
		outs = append(outs, out)
		// Users are kept through the primary only: a standalone write on a
		// member of a live set would not replicate.
		f.check(!strings.Contains(out, "updated admin") && !strings.Contains(out, "created admin"),
			"member %d's replacement wrote users outside the set:\n%s", i, tail(out, 10))
		f.check(c.members[i].volume.FileSystemUUID() == uuid, "member %d's replacement reformatted its volume", i)
		settle(nodes) // the replacement loads its stored configuration
		docs, _ := nodes[i].MongoDocs("clusterdb", "clusternode")
		f.check(slices.ContainsFunc(docs, func(d map[string]any) bool { return d["_id"] == doc["_id"] }), "member %d's replacement lacks the write made while it was gone: %v", i, docs)
	}
	f.check(initiations(outs...) == 1, "the set was initiated %d times, want once", initiations(outs...))
	c.checkSet(f, nodes, "after the replacements")
	return f.list
}

// replicaInterruptedInitiator cuts the initiator's power at each step of a
// first boot, each time on a fresh cluster, and reboots it: it converges.
func replicaInterruptedInitiator(c *replicaCluster) []string {
	f := &failures{t: c.t}
	for _, marker := range []string{"created admin", "created ams", "initiated replica set", "kept admin"} {
		fresh := c
		if marker != "created admin" {
			fresh = newReplicaCluster(c.t).timed(c.w.Timing())
		}
		nodes := []*sandbox.Node{fresh.node(0, ""), fresh.node(1, ""), fresh.node(2, "")}
		fresh.wait(f, fresh.boot(1, nodes[1]), "member 1's boot")
		fresh.wait(f, fresh.boot(2, nodes[2]), "member 2's boot")
		run := fresh.boot(0, nodes[0])
		if !waitFor(60*time.Second, func() bool { return strings.Contains(run.Output(), marker) }) {
			f.check(false, "the initiator never printed %q:\n%s", marker, tail(run.Stop().Output, 15))
			continue
		}
		nodes[0].PowerOff()
		first := run.Wait().Output
		nodes[0].Reboot(5)
		checkBoot(f, nodes[0], "the initiator's start after a cut at "+marker)
		out := strings.TrimPrefix(nodes[0].BootLog(), first)
		f.check(initiations(first, out) == 1, "cut at %q: the set was initiated %d times, want once", marker, initiations(first, out))
		fresh.checkSet(f, nodes, "after a cut at "+marker)
	}
	return f.list
}

// replicaInterruptedMember cuts a member other than the initiator off at
// each step of its first boot, each time on a fresh cluster, and reboots
// it: its boot converges and the set forms once. Then a member's instance
// reboots while the set serves: systemd brings mongod back as a member,
// with no boot script, and the set is whole again.
func replicaInterruptedMember(c *replicaCluster) []string {
	f := &failures{t: c.t}
	for _, marker := range []string{"mounted at", "runs on"} {
		fresh := c
		if marker != "mounted at" {
			fresh = newReplicaCluster(c.t).timed(c.w.Timing())
		}
		nodes := []*sandbox.Node{fresh.node(0, ""), fresh.node(1, ""), fresh.node(2, "")}
		run := fresh.boot(1, nodes[1])
		if !waitFor(60*time.Second, func() bool { return strings.Contains(run.Output(), marker) }) {
			f.check(false, "member 1 never printed %q:\n%s", marker, tail(run.Stop().Output, 15))
			continue
		}
		nodes[1].PowerOff()
		run.Wait()
		nodes[1].Reboot(5)
		checkBoot(f, nodes[1], "member 1's start after a cut at "+marker)
		fresh.wait(f, fresh.boot(2, nodes[2]), "member 2's boot")
		out := fresh.wait(f, fresh.boot(0, nodes[0]), "the initiator's boot")
		f.check(initiations(out) == 1, "member 1 cut at %q: the set was initiated %d times, want once", marker, initiations(out))
		fresh.checkSet(f, nodes, "after member 1 was cut at "+marker)
		if marker == "runs on" {
			nodes[2].Reboot(5)
			fresh.checkSet(f, nodes, "after member 2's instance rebooted")
		}
	}
	return f.list
}

// replicaFromOneMember: a single node serves with data; mongoMembers goes to
// 3. Member 0 keeps its volume and address, its new instance initiates the
// set with the data, the new members receive it.
func replicaFromOneMember(c *replicaCluster) []string {
	f := &failures{t: c.t}
	single := deploy(c.t, map[string]string{"zoneCount": "3"})
	inst := single.one(c.t, "aws:ec2/instance:Instance", "-mongo")
	f.check(single.one(c.t, "aws:ebs/volume:Volume", "-mongo-data").ID == c.members[0].volumeID,
		"going to three members changes member 0's volume: the data would not follow")
	f.check(stateString(single.byID(inst.str("networkInterfaces.0.networkInterfaceId")), "privateIp") == c.members[0].ip,
		"going to three members changes member 0's address")
	old := c.node(0, "i-0a0b0c0d0e0f10001")
	out := c.wait(f, old.StartUserData("mongo-bootstrap.sh", userData(c.t, inst)), "the single node's boot")
	f.check(strings.Contains(out, "MongoDB is ready"), "the single node did not get ready:\n%s", tail(out, 10))
	single1URL := single.one(c.t, "aws:ssm/parameter:Parameter", "-mongo-url").str("value")
	conn, err := c.w.DialMongo(single1URL, "10.20.0.99")
	if err != nil {
		f.check(false, "the single node's URL does not connect: %v", err)
		return f.list
	}
	f.check(conn.InsertUnique("clusterdb", "clusternode", map[string]any{"_id": "kept"}, "_id") == nil, "no write on the single node")
	conn.Close()
	// pulumi up: the instance is replaced (delete before replace), the volume re-attached.
	old.Terminate()
	nodes, outs := c.bootAll(f, []int{0, 1, 2})
	f.check(initiations(outs...) == 1, "the set was initiated %d times, want once", initiations(outs...))
	c.checkSet(f, nodes, "after growing to three members")
	for i, n := range nodes {
		docs, _ := n.MongoDocs("clusterdb", "clusternode")
		f.check(slices.ContainsFunc(docs, func(d map[string]any) bool { return d["_id"] == "kept" }), "member %d lacks the single node's data: %v", i, docs)
	}
	return f.list
}

// timed sets the world's timing, before any member launches, on the
// world's one clock.
func (c *replicaCluster) timed(timing sandbox.Timing) *replicaCluster {
	c.w.ShareClock()
	c.w.SetTiming(timing)
	return c
}

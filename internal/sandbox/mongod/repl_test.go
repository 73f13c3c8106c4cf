package mongod_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

// replNode is one member of a test replica set.
type replNode struct {
	n *sandbox.Node
	e *machine.Env
}

// newReplNodes launches count Ubuntu nodes at 10.0.1.10, .11, ... with
// mongodb-org installed, each with a key file and a data directory.
func newReplNodes(t *testing.T, count int) (*sandbox.World, []replNode) {
	t.Helper()
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	var out []replNode
	for i := 0; i < count; i++ {
		n := w.NewNode(sandbox.NodeSpec{InstanceID: fmt.Sprintf("i-0mongo%d", i), PrivateIP: fmt.Sprintf("10.0.1.%d", 10+i)})
		e := n.Env()
		for _, d := range []string{"/var/lib/mongodb", "/var/log/mongodb"} {
			if err := os.MkdirAll(e.Path(d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := machine.MarkInstalled(e, "mongodb-org"); err != nil {
			t.Fatal(err)
		}
		out = append(out, replNode{n: n, e: e})
		out[i].setKey(t, "c2VjcmV0a2V5c2VjcmV0a2V5")
		out[i].conf(t, "ams")
	}
	return w, out
}

func (r replNode) setKey(t *testing.T, key string) {
	t.Helper()
	path := r.e.Path("/etc/mongodb.key")
	_ = os.Chmod(path, 0o600)
	if err := os.WriteFile(path, []byte(key+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
}

func (r replNode) conf(t *testing.T, set string) {
	t.Helper()
	writeMongoConf(t, r.e, fmt.Sprintf("storage:\n  dbPath: %s\nnet:\n  port: 27017\n  bindIp: 127.0.0.1,%s\nsecurity:\n  keyFile: %s\nreplication:\n  replSetName: %s\n",
		r.e.Path("/var/lib/mongodb"), r.n.PrivateIP, r.e.Path("/etc/mongodb.key"), set))
}

func (r replNode) start(t *testing.T) {
	t.Helper()
	startMongod(t, r.e)
}

func (r replNode) stop(t *testing.T) {
	t.Helper()
	if err := mongod.Stop(r.e); err != nil {
		t.Fatal(err)
	}
}

func (r replNode) local(t *testing.T, w *sandbox.World) *mongod.MongoSession {
	t.Helper()
	return localSession(t, w, r.n)
}

func setConfig(hosts ...string) map[string]any {
	members := []any{}
	for i, h := range hosts {
		prio := 1
		if i == 0 {
			prio = 2
		}
		members = append(members, map[string]any{"_id": i, "host": h + ":27017", "priority": prio})
	}
	return map[string]any{"_id": "ams", "members": members}
}

func states(nodes []replNode) []string {
	var out []string
	for _, r := range nodes {
		out = append(out, r.n.MongoReplicaStatus().State)
	}
	return out
}

// TestMongoReplicaSetInitiate walks replSetInitiate through the orders a
// boot script could get wrong: it must refuse each of them as mongod does.
func TestMongoReplicaSetInitiate(t *testing.T) {
	w, ns := newReplNodes(t, 3)
	cfg := setConfig("10.0.1.10", "10.0.1.11", "10.0.1.12")
	ns[0].start(t)
	ns[1].start(t)
	s0 := ns[0].local(t, w)

	_, err := s0.RunCommand("admin", cmd("replSetInitiate", cfg))
	checkMongoErr(t, "a member down", err, 74, "replSetInitiate quorum check failed because not all proposed set members responded affirmatively: 10.0.1.12:27017 failed with Error connecting to 10.0.1.12:27017 :: caused by :: Connection refused")

	ns[2].setKey(t, "b3RoZXJrZXlvdGhlcmtleQ")
	ns[2].start(t)
	_, err = s0.RunCommand("admin", cmd("replSetInitiate", cfg))
	checkMongoErr(t, "another key file", err, 74, "10.0.1.12:27017 failed with Authentication failed.")

	ns[2].stop(t)
	ns[2].setKey(t, "c2VjcmV0a2V5c2VjcmV0a2V5")
	ns[2].conf(t, "other")
	ns[2].start(t)
	_, err = s0.RunCommand("admin", cmd("replSetInitiate", cfg))
	checkMongoErr(t, "another set name", err, 103, "Our set name did not match that of the request target")

	ns[2].stop(t)
	ns[2].conf(t, "ams")
	ns[2].start(t)
	_, err = ns[1].local(t, w).RunCommand("admin", cmd("replSetInitiate", setConfig("10.0.1.10", "10.0.1.12")))
	checkMongoErr(t, "initiate from a node outside the config", err, 74, "No host described in new configuration with {version: 1, term: 0} for replica set ams maps to this node")

	_, err = s0.RunCommand("admin", createUserCmd("admin", "pw", "root"))
	checkMongoErr(t, "a user before the set exists", err, 10107, "not primary")

	_, err = s0.RunCommand("admin", cmd("replSetInitiate", cfg))
	checkMongoErr(t, "initiate with every member up", err, 0, "")
	_, err = s0.RunCommand("admin", cmd("replSetInitiate", cfg))
	checkMongoErr(t, "a second initiate", err, 23, "already initialized")
	_, err = ns[2].local(t, w).RunCommand("admin", cmd("replSetInitiate", cfg))
	checkMongoErr(t, "initiate on a member that learned the config", err, 23, "already initialized")
	if got := states(ns); !slices.Equal(got, []string{"PRIMARY", "SECONDARY", "SECONDARY"}) {
		t.Errorf("states after initiate: want member 0 primary, the others secondary, got %v", got)
	}
	for i, r := range ns {
		if st := r.n.MongoReplicaStatus(); st.SetName != "ams" || len(st.Members) != 3 {
			t.Errorf("member %d: want set ams with 3 members, got %+v", i, st)
		}
	}
}

// TestMongoReplicaSetWrites checks that writes go to the primary only,
// reach the members up, and that an election follows a majority.
func TestMongoReplicaSetWrites(t *testing.T) {
	w, ns := newReplNodes(t, 3)
	for _, r := range ns {
		r.start(t)
	}
	s0 := ns[0].local(t, w)
	if _, err := s0.RunCommand("admin", cmd("replSetInitiate", setConfig("10.0.1.10", "10.0.1.11", "10.0.1.12"))); err != nil {
		t.Fatal(err)
	}
	// The localhost exception lets a secondary try, but it is no primary.
	_, err := ns[1].local(t, w).RunCommand("admin", createUserCmd("admin", "pw", "root"))
	checkMongoErr(t, "a user created on a secondary", err, 10107, "not primary")
	_, err = s0.RunCommand("admin", createUserCmd("admin", "pw", "root"))
	checkMongoErr(t, "a user created on the primary", err, 0, "")
	for i, r := range ns {
		if users, _ := r.n.MongoUsers(); !slices.Equal(users, []string{"admin.admin"}) {
			t.Errorf("member %d: want the admin user replicated, got %v", i, users)
		}
	}
	// The primary goes: a majority remains and elects member 1 (lowest _id).
	ns[0].stop(t)
	if got := states(ns[1:]); !slices.Equal(got, []string{"PRIMARY", "SECONDARY"}) {
		t.Errorf("member 0 down: want member 1 primary, got %v", got)
	}
	s1 := ns[1].local(t, w)
	if err := s1.Authenticate("admin", "admin", "pw"); err != nil {
		t.Fatal(err)
	}
	_, err = s1.RunCommand("clusterdb", cmd("insert", "clusternode", "documents", []any{map[string]any{"_id": "a"}}))
	checkMongoErr(t, "insert on the new primary", err, 0, "")
	// Member 0 returns: it loads its stored configuration (STARTUP), then
	// catches up and, with the highest priority, takes over.
	ns[0].start(t)
	if got := states(ns); !slices.Equal(got, []string{"STARTUP", "PRIMARY", "SECONDARY"}) {
		t.Errorf("member 0 loading: want it in STARTUP, got %v", got)
	}
	ns[0].n.Idle(mongod.MongodConfigLoadSeconds)
	if got := states(ns); !slices.Equal(got, []string{"PRIMARY", "SECONDARY", "SECONDARY"}) {
		t.Errorf("member 0 back: want it primary again, got %v", got)
	}
	s0 = ns[0].local(t, w)
	if err := s0.Authenticate("admin", "admin", "pw"); err != nil {
		t.Fatal(err)
	}
	r, err := s0.RunCommand("clusterdb", cmd("count", "clusternode"))
	if err != nil || r["n"] != 1 {
		t.Errorf("member 0 back: want the insert made while it was down, got %v %v", r, err)
	}
	// Without a majority there is no primary, and no write.
	ns[1].stop(t)
	ns[2].stop(t)
	if got := ns[0].n.MongoReplicaStatus().State; got != "SECONDARY" {
		t.Errorf("alone: want member 0 secondary, got %s", got)
	}
	_, err = s0.RunCommand("clusterdb", cmd("insert", "clusternode", "documents", []any{map[string]any{"_id": "b"}}))
	checkMongoErr(t, "insert without a majority", err, 10107, "not primary")
}

// TestMongoReplicaSetAdd grows a one-member set with replSetReconfig.
func TestMongoReplicaSetAdd(t *testing.T) {
	w, ns := newReplNodes(t, 2)
	for _, r := range ns {
		r.start(t)
	}
	s0 := ns[0].local(t, w)
	if _, err := s0.RunCommand("admin", cmd("replSetInitiate", setConfig("10.0.1.10"))); err != nil {
		t.Fatal(err)
	}
	_, err := s0.RunCommand("admin", createUserCmd("admin", "pw", "root"))
	checkMongoErr(t, "user on a one-member set", err, 0, "")
	if err := s0.Authenticate("admin", "admin", "pw"); err != nil {
		t.Fatal(err)
	}
	same := setConfig("10.0.1.10", "10.0.1.11")
	same["version"] = 1
	_, err = s0.RunCommand("admin", cmd("replSetReconfig", same))
	checkMongoErr(t, "reconfig with the same version", err, 103, "must be greater than old")
	next := setConfig("10.0.1.10", "10.0.1.11")
	next["version"] = 2
	_, err = ns[1].local(t, w).RunCommand("admin", cmd("replSetReconfig", next))
	checkMongoErr(t, "reconfig on a node that is not primary", err, 94, "no replset config has been received")
	_, err = s0.RunCommand("admin", cmd("replSetReconfig", next))
	checkMongoErr(t, "reconfig adding a member", err, 0, "")
	if st := ns[1].n.MongoReplicaStatus(); st.State != "SECONDARY" || st.Version != 2 {
		t.Errorf("added member: want a secondary with version 2, got %+v", st)
	}
	if users, _ := ns[1].n.MongoUsers(); !slices.Equal(users, []string{"admin.admin"}) {
		t.Errorf("added member: want the users by initial sync, got %v", users)
	}
}

// TestMongoReplicaSetDriverFollowsThePrimary: a client of the replica-set
// URL, with the replicaSet option or with only the host list (the Java
// driver's MULTIPLE mode discovers the set), writes to whichever member is
// primary, before and after a failover.
func TestMongoReplicaSetDriverFollowsThePrimary(t *testing.T) {
	for name, url := range map[string]string{
		"replicaSet option": "mongodb://app:pw@10.0.1.10:27017,10.0.1.11:27017,10.0.1.12:27017/?replicaSet=ams&authSource=admin",
		"host list only":    "mongodb://app:pw@10.0.1.10:27017,10.0.1.11:27017,10.0.1.12:27017",
	} {
		t.Run(name, func(t *testing.T) { driverFollowsThePrimary(t, url) })
	}
}

func driverFollowsThePrimary(t *testing.T, url string) {
	w, ns, _ := initiatedSet(t, "app")
	w.NewNode(sandbox.NodeSpec{InstanceID: "i-0ams", PrivateIP: "10.0.2.20"})
	c, err := w.DialMongo(url, "10.0.2.20")
	if err != nil {
		t.Fatalf("dial the set: %v", err)
	}
	if err := c.InsertUnique("clusterdb", "clusternode", map[string]any{"_id": "a"}, "_id"); err != nil {
		t.Fatalf("insert on the primary: %v", err)
	}
	// Member 0 steps aside: stopped, then back (it takes over again); the
	// client's member 1 session meanwhile.
	ns[0].stop(t)
	if err := c.InsertUnique("clusterdb", "clusternode", map[string]any{"_id": "b"}, "_id"); err != nil {
		t.Fatalf("insert after a failover: %v", err)
	}
	ns[0].start(t)
	ns[0].n.Idle(mongod.MongodConfigLoadSeconds) // it loads its stored configuration
	if err := c.InsertUnique("clusterdb", "clusternode", map[string]any{"_id": "c"}, "_id"); err != nil {
		t.Fatalf("insert after member 0 took over again: %v", err)
	}
	for i, r := range ns {
		docs, err := r.n.MongoDocs("clusterdb", "clusternode")
		if err != nil || len(docs) != 3 {
			t.Errorf("member %d: want the three writes, got %v %v", i, docs, err)
		}
	}
	// Without a majority the URL finds no primary.
	ns[1].stop(t)
	ns[2].stop(t)
	if _, err := w.DialMongo(url, "10.0.2.20"); err == nil || !strings.Contains(err.Error(), "ReadPreferenceServerSelector") {
		t.Errorf("dial without a majority: want a server selection timeout, got %v", err)
	}
}

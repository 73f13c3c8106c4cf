package mongod_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

// initiatedSet starts three members, initiates them and creates user
// (password pw, role root) through member 0, the primary; it returns member
// 0's session, authenticated as user.
func initiatedSet(t *testing.T, user string) (*sandbox.World, []replNode, *mongod.MongoSession) {
	t.Helper()
	w, ns := newReplNodes(t, 3)
	for _, r := range ns {
		r.start(t)
	}
	s0 := ns[0].local(t, w)
	if _, err := s0.RunCommand("admin", cmd("replSetInitiate", setConfig("10.0.1.10", "10.0.1.11", "10.0.1.12"))); err != nil {
		t.Fatal(err)
	}
	if _, err := s0.RunCommand("admin", createUserCmd(user, "pw", "root")); err != nil {
		t.Fatal(err)
	}
	if err := s0.Authenticate("admin", user, "pw"); err != nil {
		t.Fatal(err)
	}
	return w, ns, s0
}

// TestMongoRestartedMemberLoadsItsConfig: a member restarted with a stored
// configuration answers as an uninitiated one until it has loaded it.
func TestMongoRestartedMemberLoadsItsConfig(t *testing.T) {
	w, ns, _ := initiatedSet(t, "admin")
	ns[1].stop(t)
	ns[1].start(t)
	s1 := ns[1].local(t, w)
	if err := s1.Authenticate("admin", "admin", "pw"); err != nil {
		t.Fatal(err)
	}
	_, err := s1.RunCommand("admin", cmd("replSetGetStatus", 1))
	checkMongoErr(t, "replSetGetStatus while loading", err, mongod.CodeNotYetInitialized, "no replset config has been received")
	hello, err := s1.RunCommand("admin", cmd("hello", 1))
	if err != nil || hello["setName"] != nil {
		t.Errorf("hello while loading: want no setName, got %v %v", hello, err)
	}
	_, err = s1.RunCommand("admin", cmd("replSetInitiate", setConfig("10.0.1.10", "10.0.1.11", "10.0.1.12")))
	checkMongoErr(t, "replSetInitiate while loading", err, mongod.CodeAlreadyInitialized, "already initialized")
	if got := states(ns); !slices.Equal(got, []string{"PRIMARY", "STARTUP", "SECONDARY"}) {
		t.Errorf("while member 1 loads: want it in STARTUP, got %v", got)
	}
	ns[2].n.Idle(mongod.MongodConfigLoadSeconds) // time passes anywhere in the world
	if _, err := s1.RunCommand("admin", cmd("replSetGetStatus", 1)); err != nil {
		t.Errorf("replSetGetStatus once loaded: %v", err)
	}
	if got := states(ns); !slices.Equal(got, []string{"PRIMARY", "SECONDARY", "SECONDARY"}) {
		t.Errorf("once loaded: got %v", got)
	}
}

// TestMongoInitiateFailsOnLoadingMembers: an initiate whose members are
// still loading a stored configuration fails its quorum check.
func TestMongoInitiateFailsOnLoadingMembers(t *testing.T) {
	w, ns, _ := initiatedSet(t, "admin")
	for _, r := range ns[1:] {
		r.stop(t)
		r.start(t)
	}
	// Member 0 comes back with its data gone (a new volume).
	ns[0].stop(t)
	files, _ := filepath.Glob(filepath.Join(ns[0].e.Path("/var/lib/mongodb"), "*.json"))
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	ns[0].start(t)
	_, err := ns[0].local(t, w).RunCommand("admin", cmd("replSetInitiate", setConfig("10.0.1.10", "10.0.1.11", "10.0.1.12")))
	checkMongoErr(t, "initiate while the others load", err, mongod.CodeNodeNotFound, "Received heartbeat while still initializing replication system")
	ns[1].n.Idle(mongod.MongodConfigLoadSeconds)
	_, err = ns[0].local(t, w).RunCommand("admin", cmd("replSetInitiate", setConfig("10.0.1.10", "10.0.1.11", "10.0.1.12")))
	// Once loaded, their heartbeats bring member 0 the set's configuration.
	checkMongoErr(t, "initiate once they loaded", err, mongod.CodeAlreadyInitialized, "already initialized")
}

func insertCmd(id string, wc map[string]any) mongod.MongoCommand {
	c := cmd("insert", "clusternode", "documents", []any{map[string]any{"_id": id}})
	if wc != nil {
		c.Keys = append(c.Keys, "writeConcern")
		c.Fields["writeConcern"] = wc
	}
	return c
}

// TestMongoMajorityWritesWaitForSecondaries: with both secondaries lagging,
// a majority write with wtimeout fails with WriteConcernFailed (and stays
// applied), one without wtimeout never ends (reported), w: 1 returns at
// once, and once the secondaries caught up majority writes pass.
func TestMongoMajorityWritesWaitForSecondaries(t *testing.T) {
	_, ns, s0 := initiatedSet(t, "admin")
	for _, r := range ns[1:] {
		r.n.SetMongoApplyLag(60)
	}
	before := ns[0].n.Clock()
	_, err := s0.RunCommand("clusterdb", insertCmd("a", map[string]any{"w": "majority", "wtimeout": 5000}))
	checkMongoErr(t, "majority write with wtimeout", err, mongod.CodeWriteConcernFailed, "waiting for replication timed out")
	var se *mongod.MongoServerError
	if !errors.As(err, &se) || !se.WriteConcern {
		t.Errorf("want a writeConcernError, got %#v", err)
	}
	if waited := ns[0].n.Clock() - before; waited != 5 {
		t.Errorf("the write waited %d s on the primary's clock, want its wtimeout (5 s)", waited)
	}
	if docs, _ := ns[0].n.MongoDocs("clusterdb", "clusternode"); len(docs) != 1 {
		t.Errorf("a timed-out write stays applied on the primary: got %v", docs)
	}
	_, err = s0.RunCommand("clusterdb", insertCmd("b", nil))
	if err == nil || !strings.Contains(err.Error(), "waits forever") {
		t.Errorf("implicit majority write with nothing letting time pass: want it reported as waiting forever, got %v", err)
	}
	_, err = s0.RunCommand("clusterdb", insertCmd("c", map[string]any{"w": 1}))
	checkMongoErr(t, "w: 1 write", err, 0, "")
	// The lag is 60 s after the last write: a write that waits long enough passes.
	_, err = s0.RunCommand("clusterdb", insertCmd("d", map[string]any{"w": "majority", "wtimeout": 90000}))
	checkMongoErr(t, "majority write that outwaits the lag", err, 0, "")
	for i, r := range ns {
		if docs, _ := r.n.MongoDocs("clusterdb", "clusternode"); len(docs) != 4 {
			t.Errorf("member %d: want the four writes, got %v", i, docs)
		}
	}
}

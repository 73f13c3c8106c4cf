package mongod

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// What takes time in a replica set: a restarted member loading its stored
// configuration, and writes waiting for a majority of members to apply them.
//
// Upstream sources it follows (repository mongodb/mongo):
//   - src/mongo/db/repl/replication_coordinator_impl.cpp: a member starts in
//     STARTUP with its config state kConfigPreStart/kConfigStartingUp while
//     _startLoadLocalConfig/_finishLoadLocalConfig read local.system.replset;
//     meanwhile checkReplEnabledForCommand answers replSetGetStatus (and
//     replSetGetConfig, replSetReconfig) with NotYetInitialized (94) "no
//     replset config has been received" — the same answer as a member that
//     was never initiated; processHeartbeat answers NotYetInitialized
//     "Received heartbeat while still initializing replication system", so
//     peers count it as down and an initiate's quorum check fails on it;
//     processReplSetInitiate waits until loading ends, then answers
//     AlreadyInitialized (23) (modelled as answering at once).
//   - hello (TopologyCoordinator::fillHelloForReplSet): no configuration
//     loaded yet, so no setName: a loading member looks uninitiated.
//   - src/mongo/db/read_write_concern_defaults.cpp and write_concern.cpp
//     (waitForWriteConcern): since 5.0 the implicit default write concern is
//     {w: "majority"} (no arbiter here), with no wtimeout; a write on the
//     primary is acknowledged once a majority of voting members applied it;
//     with wtimeout the reply carries writeConcernError {code: 64,
//     codeName: "WriteConcernFailed", errmsg: "waiting for replication timed
//     out", errInfo: {wtimeout: true}} and the write stays applied; with no
//     wtimeout the wait has no end. mongosh (and the Node driver under it)
//     throws MongoWriteConcernError for such a reply.
//
// Time: every node has its own virtual clock (the sum of its sleeps). The
// replica set's time is the world's: the sum of every node's clock, so that
// time passes for a loading member or a lagging secondary whenever any node
// waits. A member loads for mongodConfigLoadSeconds of world time after a
// start with a stored configuration; a secondary given an apply lag
// (Node.SetMongoApplyLag) stops applying when it next falls behind the
// primary and applies nothing for that much world time, then catches up
// (a member busy with an index build or a slow disk). A write that waits
// with no wtimeout while no node lets time pass can never end: the model
// reports it as a sandbox failure (the script dies with "waits forever")
// instead of hanging until RunTimeout.

const (
	// mongodConfigLoadSeconds is how long, in world time, a member that
	// starts with a stored configuration stays in STARTUP.
	mongodConfigLoadSeconds = 20
	// mongoStallTimeout is how long (real time) a write concern wait with no
	// wtimeout waits for any node's clock to move before it is reported.
	mongoStallTimeout = 3 * time.Second
	// codeWriteConcernFailed is WriteConcernFailed in error_codes.yml.
	codeWriteConcernFailed = 64
)

func init() { codeNames[codeWriteConcernFailed] = "WriteConcernFailed" }

// worldNow is the world's time in seconds: the sum of every node's clock,
// terminated nodes included (their roots stay), so it never goes back.
func worldNow(worldDir string) int {
	clocks, _ := filepath.Glob(filepath.Join(worldDir, "nodes", "*", "root", machine.StateDir, "clock"))
	total := 0
	for _, c := range clocks {
		b, err := os.ReadFile(c)
		if err != nil {
			continue
		}
		v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		total += v
	}
	return total
}

// configLoadedAt is when, in world time, a mongod started now on dataDir
// with a replica set name has loaded its configuration: at once without a
// stored one.
func configLoadedAt(worldDir, dir, replSetName string) int {
	if replSetName == "" {
		return 0
	}
	if cfg, err := readReplConfig(DataDir(dir)); err != nil || cfg == nil {
		return 0
	}
	return worldNow(worldDir) + mongodConfigLoadSeconds
}

// loading reports whether the session's mongod is still loading its stored
// replica set configuration (state STARTUP).
func (s *mongoSession) loading() bool {
	return s.state.LoadedAt > 0 && worldNow(s.world) < s.state.LoadedAt
}

// errStillLoading is the heartbeat answer of a loading member.
var errStillLoading = errors.New("Received heartbeat while still initializing replication system")

// ApplyLag is a secondary's apply lag: Seconds of world time without
// applying anything, from Until on once it has started (0: not yet).
type ApplyLag struct {
	Seconds int `json:"seconds"`
	Until   int `json:"until,omitempty"`
}

// applyLagPath is where a node keeps its mongod's apply lag.
func applyLagPath(root string) string {
	return filepath.Join(root, machine.StateDir, "mongo-apply-lag.json")
}

func readApplyLag(root string) ApplyLag {
	var l ApplyLag
	if b, err := os.ReadFile(applyLagPath(root)); err == nil {
		_ = json.Unmarshal(b, &l)
	}
	return l
}

// WriteApplyLag sets how far behind the primary the member at root applies.
func WriteApplyLag(root string, l ApplyLag) error {
	b, _ := json.Marshal(l)
	return writeFileAtomic(applyLagPath(root), b)
}

// applies reports whether secondary m, behind the primary, applies its
// writes now: its lag, if it has one, starts the first time it is behind.
func (w *replWorld) applies(m *replMember) (bool, error) {
	if m.lag.Seconds <= 0 {
		return true, nil
	}
	if m.lag.Until == 0 {
		m.lag.Until = w.now + m.lag.Seconds
		if err := WriteApplyLag(m.Root, m.lag); err != nil {
			return false, err
		}
	}
	return w.now >= m.lag.Until, nil
}

// writeConcern is a command's writeConcern: w ("majority" or a number of
// members) and wtimeout in milliseconds (0: wait without end).
type writeConcern struct {
	majority  bool
	members   int
	timeoutMS int
}

// writeConcernOf reads a command's writeConcern; without one, the implicit
// default {w: "majority"} with no wtimeout.
func writeConcernOf(c MongoCommand) writeConcern {
	wc := writeConcern{majority: true}
	doc, _ := c.Fields["writeConcern"].(map[string]any)
	if doc == nil {
		return wc
	}
	switch v := doc["w"].(type) {
	case string:
		wc.majority = v == "majority"
	case nil:
	default:
		wc.majority, wc.members = false, toInt(v)
	}
	wc.timeoutMS = toInt(doc["wtimeout"])
	return wc
}

func (wc writeConcern) String() string {
	w := `"majority"`
	if !wc.majority {
		w = strconv.Itoa(wc.members)
	}
	if wc.timeoutMS == 0 {
		return "{w: " + w + "}"
	}
	return fmt.Sprintf("{w: %s, wtimeout: %d}", w, wc.timeoutMS)
}

// acknowledged counts who has the write at optime written, as self (the
// primary) sees the set: votes or members that applied it, and how many
// the write concern needs.
func (w *replWorld) acknowledged(self *replMember, written int, wc writeConcern) (have, need int) {
	if self == nil || self.Cfg == nil {
		return 0, 1
	}
	total := 0
	for _, cm := range MembersOf(self.Cfg) {
		weight := 1
		if wc.majority {
			weight = cm.Votes
		}
		total += weight
		if m := w.ByHost[cm.Host]; m != nil && w.linked(self, m) && m.optime >= written {
			have += weight
		}
	}
	if wc.majority {
		return have, total/2 + 1
	}
	return have, wc.members
}

// awaitWriteConcern waits, as waitForWriteConcern does, until the write at
// optime written satisfies wc: with a wtimeout it lets time pass on the
// server's node a second at a time and fails with WriteConcernFailed at the
// timeout; without one it waits for the world to move and reports a wait
// that nothing can end.
func (s *mongoSession) awaitWriteConcern(written int, wc writeConcern) error {
	if !wc.majority && wc.members <= 1 {
		return nil
	}
	waitedMS, lastNow, still := 0, worldNow(s.world), time.Now()
	for {
		var have, need int
		err := WithReplLock(s.world, func() error {
			w, self, err := s.replView()
			if err == nil {
				have, need = w.acknowledged(self, written, wc)
			}
			return err
		})
		if err != nil {
			return err
		}
		if have >= need {
			return nil
		}
		if wc.timeoutMS > 0 {
			if waitedMS >= wc.timeoutMS {
				return &MongoServerError{Code: codeWriteConcernFailed, CodeName: codeNames[codeWriteConcernFailed],
					Message: "waiting for replication timed out", WriteConcern: true}
			}
			e, err := machine.LoadEnv(s.root, s.world)
			if err != nil {
				return err
			}
			if err := e.Sleep(1); err != nil {
				return err
			}
			waitedMS += 1000
			continue
		}
		time.Sleep(20 * time.Millisecond)
		if now := worldNow(s.world); now != lastNow {
			lastNow, still = now, time.Now()
		} else if time.Since(still) > mongoStallTimeout {
			return fmt.Errorf("sandbox: mongod: a write with writeConcern %s and no wtimeout waits forever: %d of the %d needed members have it and no node lets time pass (the real client would hang here)", wc, have, need)
		}
	}
}

package mongod

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// The replica set model: what members of one set see of each other, how a
// set is initiated and reconfigured, who is primary, and how writes and
// initial sync reach the members. Real members exchange heartbeats and
// oplog entries in the background; the model has no background, so before
// each command on a member started with replication.replSetName it runs
// one "convergence" pass over every node of the world under a world-wide
// lock: configurations spread to the members they name, a primary is
// elected, and members that are behind copy the primary's data.
//
// Upstream sources it follows (repository mongodb/mongo):
//   - src/mongo/db/repl/repl_set_commands.cpp (CmdReplSetInitiate,
//     CmdReplSetReconfig) and replication_coordinator_impl.cpp
//     (processReplSetInitiate: "already initialized", AlreadyInitialized 23;
//     processReplSetReconfig: only on a writable primary).
//   - src/mongo/db/repl/repl_set_config_checks.cpp (findSelfInConfig: "No host
//     described in new configuration with {version: 1, term: 0} for replica
//     set <name> maps to this node", NodeNotFound 74; validateConfigForReconfig:
//     the new version must be greater than the old one,
//     NewReplicaSetConfigurationIncompatible 103).
//   - src/mongo/db/repl/check_quorum_for_config_change.cpp (QuorumChecker: for
//     an initial config every proposed member must answer the heartbeat:
//     "replSetInitiate quorum check failed because not all proposed set members
//     responded affirmatively: <host> failed with <why>", NodeNotFound 74; a
//     member of another set vetoes with "Our set name did not match that of the
//     request target" (103); a member that already has data vetoes with
//     "'<host>' has data already, cannot initiate set." (CannotInitializeNodeWithData
//     110)). Heartbeats between members authenticate with the key file: a
//     member with another key answers "Authentication failed.".
//   - src/mongo/db/repl/topology_coordinator.cpp (elections: a candidate needs
//     the votes of a majority of the voting members; priority 0 members never
//     stand; a higher-priority member that is caught up takes over, so the
//     highest-priority electable member up ends as primary).
//   - src/mongo/db/repl/replication_coordinator_impl.cpp (canAcceptWritesFor:
//     writes elsewhere than on the primary fail with "not primary",
//     NotWritablePrimary 10107).
//   - src/mongo/db/repl/initial_syncer.cpp (a member without data copies every
//     database but local from a sync source, users in admin.system.users
//     included).
//
// Simplifications: no terms or step-down timers (the election is decided
// again on each pass, so a returning higher-priority member takes over at
// once, as priority takeover does after a short delay); the oplog is one
// counter per member (local.sandbox.optime) and a member behind copies the
// primary's whole data set.

// Error codes of error_codes.yml used by the replica set model.
const (
	codeNodeNotFound                 = 74
	codeInvalidReplicaSetConfig      = 93
	codeNewReplicaSetConfigIncompat  = 103
	codeCannotInitializeNodeWithData = 110
	codeNotWritablePrimary           = 10107
)

func init() {
	codeNames[codeNodeNotFound] = "NodeNotFound"
	codeNames[codeInvalidReplicaSetConfig] = "InvalidReplicaSetConfig"
	codeNames[codeNewReplicaSetConfigIncompat] = "NewReplicaSetConfigurationIncompatible"
	codeNames[codeCannotInitializeNodeWithData] = "CannotInitializeNodeWithData"
	codeNames[codeNotWritablePrimary] = "NotWritablePrimary"
}

// writeCommands change data: on a replica set member only the primary takes them.
var writeCommands = []string{"createUser", "updateUser", "dropUser", "grantRolesToUser", "insert", "delete"}

// replMember is one node of the world whose mongod runs with a replica set
// name, as the other members see it.
type replMember struct {
	Root, ip string
	st       mongodState
	Cfg      map[string]any // local.system.replset, nil before it has one
	key      string         // the key file's content, whitespace removed
	optime   int
	// loading: still reading its stored configuration (STARTUP, mongo_wait.go).
	loading bool
	// lag is its apply lag as a secondary (mongo_wait.go).
	lag ApplyLag
}

func (m *replMember) host() string  { return net.JoinHostPort(m.ip, strconv.Itoa(m.st.Port)) }
func (m *replMember) data() DataDir { return DataDir(m.st.DataDir) }

func (m *replMember) Version() int {
	if m.Cfg == nil {
		return 0
	}
	return toInt(m.Cfg["version"])
}

func toInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return 0
}

// cfgMember is a member of a replica set configuration.
type cfgMember struct {
	ID       int
	Host     string
	Priority float64
	Votes    int
}

// MembersOf lists a configuration's members with their defaults (priority
// and votes 1).
func MembersOf(cfg map[string]any) []cfgMember {
	var out []cfgMember
	for _, d := range asDocs(cfg["members"]) {
		m := cfgMember{ID: toInt(d["_id"]), Host: fmt.Sprint(d["host"]), Priority: 1, Votes: 1}
		if p, ok := d["priority"]; ok {
			m.Priority = float64(toInt(p))
			if f, ok := p.(float64); ok {
				m.Priority = f
			}
		}
		if v, ok := d["votes"]; ok {
			m.Votes = toInt(v)
		}
		out = append(out, m)
	}
	return out
}

// replWorld is every replica set member of a world, by host.
type replWorld struct {
	dir    string
	ByHost map[string]*replMember
	now    int // world time (mongo_wait.go)
}

// LoadReplWorld reads every node of the world whose mongod runs with a
// replica set name.
func LoadReplWorld(worldDir string) (*replWorld, error) {
	w := &replWorld{dir: worldDir, ByHost: map[string]*replMember{}, now: worldNow(worldDir)}
	b, err := os.ReadFile(filepath.Join(worldDir, "network.json"))
	if err != nil {
		return w, nil
	}
	var nodes map[string]machine.NetworkEntry
	if err := json.Unmarshal(b, &nodes); err != nil {
		return nil, err
	}
	for ip, n := range nodes {
		st, err := LoadMongodState(n.Root)
		if err != nil {
			return nil, err
		}
		if !st.Running || st.ReplSetName == "" {
			continue
		}
		m := &replMember{Root: n.Root, ip: ip, st: st, loading: st.LoadedAt > w.now, lag: readApplyLag(n.Root)}
		if m.Cfg, err = readReplConfig(m.data()); err != nil {
			return nil, err
		}
		if st.KeyFile != "" {
			k, _ := os.ReadFile(st.KeyFile)
			m.key = strings.Join(strings.Fields(string(k)), "")
		}
		if m.optime, err = readOptime(m.data()); err != nil {
			return nil, err
		}
		w.ByHost[m.host()] = m
	}
	return w, nil
}

func readReplConfig(d DataDir) (map[string]any, error) {
	var cfgs []map[string]any
	if err := d.Locked(false, func() error { return d.ReadDocs("local", "system.replset", &cfgs) }); err != nil {
		return nil, err
	}
	if len(cfgs) == 0 {
		return nil, nil
	}
	return cfgs[0], nil
}

func writeReplConfig(d DataDir, cfg map[string]any) error {
	return d.Locked(true, func() error { return d.writeDocs("local", "system.replset", []any{cfg}) })
}

func readOptime(d DataDir) (int, error) {
	var docs []map[string]any
	if err := d.Locked(false, func() error { return d.ReadDocs("local", "sandbox.optime", &docs) }); err != nil {
		return 0, err
	}
	if len(docs) == 0 {
		return 0, nil
	}
	return toInt(docs[0]["n"]), nil
}

func writeOptime(d DataDir, n int) error {
	return d.Locked(true, func() error {
		return d.writeDocs("local", "sandbox.optime", []any{map[string]any{"_id": "optime", "n": n}})
	})
}

// heartbeat is what member a learns of the member at host: nil when they
// can talk, else why not (as the quorum checker reports it).
func (w *replWorld) heartbeat(a *replMember, host string) error {
	b, ok := w.ByHost[host]
	if !ok {
		ip, _, _ := net.SplitHostPort(host)
		root, exists := machine.NodeRootByIP(w.dir, ip)
		if !exists {
			return fmt.Errorf("Error connecting to %s :: caused by :: Connection timed out", host)
		}
		st, _ := LoadMongodState(root)
		if st.Running && st.ReplSetName == "" {
			return errors.New("not running with --replSet")
		}
		return fmt.Errorf("Error connecting to %s :: caused by :: Connection refused", host)
	}
	ip, _, _ := net.SplitHostPort(host)
	if !listensOn(b.st.BindIP, ip) {
		return fmt.Errorf("Error connecting to %s :: caused by :: Connection refused", host)
	}
	if b.key != a.key {
		return errors.New("Authentication failed.")
	}
	if b.loading {
		return errStillLoading
	}
	if b.st.ReplSetName != a.st.ReplSetName {
		return serverError(codeNewReplicaSetConfigIncompat, "Our set name did not match that of the request target, requestTarget:%s", host)
	}
	return nil
}

// linked reports whether a and b exchange heartbeats.
func (w *replWorld) linked(a, b *replMember) bool {
	return a == b || (a != nil && b != nil && !a.loading && w.heartbeat(a, b.host()) == nil)
}

// Converge runs one pass of heartbeats, elections and replication.
func (w *replWorld) Converge() error {
	// Configurations spread, newest version first, to the members they name.
	for changed := true; changed; {
		changed = false
		for _, a := range w.sorted() {
			if a.Cfg == nil {
				continue
			}
			for _, cm := range MembersOf(a.Cfg) {
				b := w.ByHost[cm.Host]
				if b == nil || b == a || !w.linked(a, b) || b.Version() >= a.Version() {
					continue
				}
				if err := writeReplConfig(b.data(), a.Cfg); err != nil {
					return err
				}
				b.Cfg = a.Cfg
				changed = true
			}
		}
	}
	p := w.primary()
	if p == nil {
		return nil
	}
	// The winner catches up from the freshest member it hears.
	for _, m := range w.sorted() {
		if m.Cfg != nil && w.linked(p, m) && m.optime > p.optime {
			if err := copyData(m.data(), p.data()); err != nil {
				return err
			}
			p.optime = m.optime
			if err := writeOptime(p.data(), p.optime); err != nil {
				return err
			}
		}
	}
	// Members behind the primary copy its data (initial sync or catch-up).
	for _, cm := range MembersOf(p.Cfg) {
		m := w.ByHost[cm.Host]
		if m == nil || m == p || m.Cfg == nil || !w.linked(p, m) || m.optime >= p.optime {
			continue
		}
		if ok, err := w.applies(m); err != nil || !ok {
			if err != nil {
				return err
			}
			continue
		}
		if err := copyData(p.data(), m.data()); err != nil {
			return err
		}
		m.optime = p.optime
		if err := writeOptime(m.data(), m.optime); err != nil {
			return err
		}
	}
	return nil
}

func (w *replWorld) sorted() []*replMember {
	hosts := make([]string, 0, len(w.ByHost))
	for h := range w.ByHost {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	out := make([]*replMember, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, w.ByHost[h])
	}
	return out
}

// primary elects: among members up with a configuration naming them and a
// priority above 0, those that hear a majority of the voting members; the
// highest priority wins, then the freshest, then the lowest _id.
func (w *replWorld) primary() *replMember {
	var best *replMember
	var bestCM cfgMember
	for _, a := range w.sorted() {
		if a.Cfg == nil || a.loading {
			continue
		}
		var self *cfgMember
		total, votes := 0, 0
		for _, cm := range MembersOf(a.Cfg) {
			total += cm.Votes
			b := w.ByHost[cm.Host]
			if b == a {
				c := cm
				self = &c
			}
			if b != nil && b.Cfg != nil && w.linked(a, b) {
				votes += cm.Votes
			}
		}
		if self == nil || self.Priority <= 0 || votes*2 <= total {
			continue
		}
		if best == nil || self.Priority > bestCM.Priority ||
			(self.Priority == bestCM.Priority && (a.optime > best.optime || (a.optime == best.optime && self.ID < bestCM.ID))) {
			best, bestCM = a, *self
		}
	}
	return best
}

// copyData replaces the databases of to (all but local) with those of from.
func copyData(from, to DataDir) error {
	return to.Locked(true, func() error {
		return from.Locked(false, func() error {
			old, _ := filepath.Glob(filepath.Join(string(to), "*.json"))
			for _, f := range old {
				if !strings.HasPrefix(filepath.Base(f), "local.") {
					if err := os.Remove(f); err != nil {
						return err
					}
				}
			}
			files, _ := filepath.Glob(filepath.Join(string(from), "*.json"))
			for _, f := range files {
				if strings.HasPrefix(filepath.Base(f), "local.") {
					continue
				}
				b, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				if err := writeFileAtomic(filepath.Join(string(to), filepath.Base(f)), b); err != nil {
					return err
				}
			}
			return nil
		})
	})
}

// WithReplLock runs fn holding the world's replication lock: one command
// on a replica set member at a time, world-wide.
func WithReplLock(worldDir string, fn func() error) error {
	var fnErr error
	err := machine.WithFileLock(filepath.Join(worldDir, ".mongo-repl.lock"), func() error {
		fnErr = fn()
		return nil
	})
	if err != nil {
		return fmt.Errorf("replication lock: %w", err)
	}
	return fnErr
}

// replView is a converged view of the world from one session's mongod.
func (s *mongoSession) replView() (*replWorld, *replMember, error) {
	w, err := LoadReplWorld(s.world)
	if err != nil {
		return nil, nil, err
	}
	if err := w.Converge(); err != nil {
		return nil, nil, err
	}
	for _, m := range w.ByHost {
		if m.Root == s.root {
			return w, m, nil
		}
	}
	return w, nil, nil
}

// replicated runs a command on a replica set member: after a convergence
// pass, writes only on the primary; a write advances the primary's optime
// and reaches the members it hears.
func (s *mongoSession) replicated(name string, wc writeConcern, run func() (map[string]any, error)) (out map[string]any, err error) {
	if s.state.ReplSetName == "" {
		return run()
	}
	written := 0
	err = WithReplLock(s.world, func() error {
		w, self, err := s.replView()
		if err != nil {
			return err
		}
		write := contains(writeCommands, name)
		if write && (self == nil || w.primary() != self) {
			return serverError(codeNotWritablePrimary, "not primary")
		}
		if out, err = run(); err != nil || !write {
			return err
		}
		written = self.optime + 1
		if err := writeOptime(self.data(), written); err != nil {
			return err
		}
		_, _, err = s.replView()
		return err
	})
	if err == nil && written > 0 {
		err = s.awaitWriteConcern(written, wc)
	}
	return out, err
}

func stateName(w *replWorld, m *replMember) string {
	_, name := w.MemberState(m)
	return name
}

// MemberState is the replSetGetStatus state of member m in w.
func (w *replWorld) MemberState(m *replMember) (int, string) {
	switch {
	case m == nil:
		return 8, "(not reachable/healthy)"
	case m.Cfg == nil || m.loading:
		return 0, "STARTUP"
	case w.primary() == m:
		return 1, "PRIMARY"
	}
	return 2, "SECONDARY"
}

func runReplSetGetStatus(s *mongoSession, _ string, _ MongoCommand) (out map[string]any, err error) {
	cfg, err := s.replEnabled()
	if err != nil {
		return nil, err
	}
	err = WithReplLock(s.world, func() error {
		out, err = replSetStatus(s, cfg)
		return err
	})
	return out, err
}

func replSetStatus(s *mongoSession, cfg map[string]any) (map[string]any, error) {
	w, self, err := s.replView()
	if err != nil {
		return nil, err
	}
	members := []any{}
	for _, cm := range MembersOf(cfg) {
		m := w.ByHost[cm.Host]
		var state int
		var stateStr string
		if m != nil && m != self && !w.linked(self, m) {
			state, stateStr = w.MemberState(nil)
		} else {
			state, stateStr = w.MemberState(m)
		}
		health := 1
		if state == 8 {
			health = 0
		}
		members = append(members, map[string]any{"_id": cm.ID, "name": cm.Host, "health": health,
			"state": state, "stateStr": stateStr, "self": m == self})
	}
	myState, _ := w.MemberState(self)
	return map[string]any{"set": s.state.ReplSetName, "myState": myState, "members": members, "ok": 1}, nil
}

// checkNewConfig applies the checks shared by initiate and reconfig: the
// set name, distinct hosts, and this node among the members.
func (s *mongoSession) checkNewConfig(cfg map[string]any, version int) ([]cfgMember, error) {
	if id, _ := cfg["_id"].(string); id != s.state.ReplSetName {
		return nil, serverError(codeInvalidReplicaSetConfig, "Attempting to initiate a replica set with name %v, but command line reports %s; rejecting", cfg["_id"], s.state.ReplSetName)
	}
	members := MembersOf(cfg)
	if len(members) == 0 {
		return nil, serverError(codeInvalidReplicaSetConfig, "Replica set configuration must contain at least one member")
	}
	seen := map[string]bool{}
	self := false
	for _, m := range members {
		if seen[m.Host] {
			return nil, serverError(codeInvalidReplicaSetConfig, "Found two member configurations with same host field, members.%d.host == members.%d.host == %s", 0, m.ID, m.Host)
		}
		seen[m.Host] = true
		host, port, _ := net.SplitHostPort(m.Host)
		if p, _ := strconv.Atoi(port); p == s.state.Port && (host == s.selfIP() || isLoopback(host)) {
			self = true
		}
	}
	if !self {
		return nil, serverError(codeNodeNotFound, "No host described in new configuration with {version: %d, term: 0} for replica set %s maps to this node", version, s.state.ReplSetName)
	}
	return members, nil
}

// selfIP is the private address of the session's node.
func (s *mongoSession) selfIP() string {
	b, err := os.ReadFile(filepath.Join(s.world, "network.json"))
	if err != nil {
		return ""
	}
	var nodes map[string]machine.NetworkEntry
	if json.Unmarshal(b, &nodes) != nil {
		return ""
	}
	for ip, n := range nodes {
		if n.Root == s.root {
			return ip
		}
	}
	return ""
}

func runReplSetInitiate(s *mongoSession, _ string, c MongoCommand) (map[string]any, error) {
	if s.state.ReplSetName == "" {
		return nil, serverError(codeNoReplicationEnabled, "This node was not started with replication enabled.")
	}
	var out map[string]any
	err := WithReplLock(s.world, func() error {
		w, self, err := s.replView()
		if err != nil {
			return err
		}
		if self == nil {
			return errors.New("replSetInitiate: this node is not a running replica set member")
		}
		if self.Cfg != nil {
			return serverError(codeAlreadyInitialized, "already initialized")
		}
		cfg, _ := c.Fields["replSetInitiate"].(map[string]any)
		if len(cfg) == 0 {
			cfg = map[string]any{"_id": s.state.ReplSetName, "members": []any{map[string]any{"_id": 0, "host": self.host()}}}
		}
		members, err := s.checkNewConfig(cfg, 1)
		if err != nil {
			return err
		}
		var bad []string
		for _, m := range members {
			host, _, _ := net.SplitHostPort(m.Host)
			if w.ByHost[m.Host] == self || isLoopback(host) {
				continue
			}
			if err := w.heartbeat(self, m.Host); err != nil {
				var se *MongoServerError
				if errors.As(err, &se) {
					return se
				}
				bad = append(bad, m.Host+" failed with "+err.Error())
				continue
			}
			if w.ByHost[m.Host].Cfg != nil {
				return serverError(codeCannotInitializeNodeWithData, "'%s' has data already, cannot initiate set.", m.Host)
			}
		}
		if len(bad) > 0 {
			return serverError(codeNodeNotFound, "replSetInitiate quorum check failed because not all proposed set members responded affirmatively: %s", strings.Join(bad, ", "))
		}
		// "initiating set" is the first oplog entry.
		if err := s.commitReplConfig(self, cfg, map[string]any{"version": 1, "term": 1}); err != nil {
			return err
		}
		out = map[string]any{"ok": 1}
		return nil
	})
	return out, err
}

// commitReplConfig stores cfg, with fields set over it, as self's replica
// set configuration, writes its oplog entry and refreshes the view, from
// which the other members learn it.
func (s *mongoSession) commitReplConfig(self *replMember, cfg, fields map[string]any) error {
	stored := map[string]any{}
	for k, v := range cfg {
		stored[k] = v
	}
	for k, v := range fields {
		stored[k] = v
	}
	if err := writeReplConfig(self.data(), stored); err != nil {
		return err
	}
	if err := writeOptime(self.data(), self.optime+1); err != nil {
		return err
	}
	_, _, err := s.replView()
	return err
}

func runReplSetReconfig(s *mongoSession, _ string, c MongoCommand) (map[string]any, error) {
	if _, err := s.replEnabled(); err != nil {
		return nil, err
	}
	var out map[string]any
	err := WithReplLock(s.world, func() error {
		w, self, err := s.replView()
		if err != nil {
			return err
		}
		if self == nil || w.primary() != self {
			return serverError(codeNotWritablePrimary, "New config is rejected :: caused by :: replSetReconfig should only be run on a writable PRIMARY. Current state %s;", stateName(w, self))
		}
		cfg, _ := c.Fields["replSetReconfig"].(map[string]any)
		version := toInt(cfg["version"])
		if version <= self.Version() {
			return serverError(codeNewReplicaSetConfigIncompat, "New replica set configuration version must be greater than old, but %d is not greater than %d for replica set %s", version, self.Version(), s.state.ReplSetName)
		}
		if _, err := s.checkNewConfig(cfg, version); err != nil {
			return err
		}
		if err := s.commitReplConfig(self, cfg, map[string]any{"term": 1}); err != nil {
			return err
		}
		out = map[string]any{"ok": 1}
		return nil
	})
	return out, err
}

// helloReplication adds what hello says of the replica set.
func (s *mongoSession) helloReplication(r map[string]any) error {
	cfg, err := s.replSetConfig()
	if err != nil {
		return err
	}
	if cfg == nil || s.loading() {
		r["isWritablePrimary"], r["ismaster"], r["secondary"] = false, false, false
		r["isreplicaset"] = true
		return nil
	}
	return WithReplLock(s.world, func() error {
		w, self, err := s.replView()
		if err != nil {
			return err
		}
		p := w.primary()
		hosts := []any{}
		for _, cm := range MembersOf(cfg) {
			hosts = append(hosts, cm.Host)
		}
		r["setName"], r["hosts"], r["setVersion"] = s.state.ReplSetName, hosts, toInt(cfg["version"])
		r["isWritablePrimary"] = self != nil && p == self
		r["ismaster"] = r["isWritablePrimary"]
		r["secondary"] = self != nil && p != self
		if self != nil {
			r["me"] = self.host()
		}
		if p != nil && w.linked(self, p) {
			r["primary"] = p.host()
		}
		return nil
	})
}

// isPrimaryOf reports whether the session's mongod is the primary of set.
func (s *mongoSession) isPrimaryOf(set string) bool {
	if s.state.ReplSetName != set {
		return false
	}
	primary := false
	_ = WithReplLock(s.world, func() error {
		w, self, err := s.replView()
		primary = err == nil && self != nil && w.primary() == self
		return err
	})
	return primary
}

// MongoReplicaStatus is what a replica set member reports of itself.
type MongoReplicaStatus struct {
	// SetName is the set of the member's configuration ("" without one).
	SetName string
	// State is PRIMARY, SECONDARY, STARTUP (no configuration) or "" when
	// mongod is not running as a replica set member.
	State string
	// Members are the hosts of its configuration.
	Members []string
	// Version is its configuration's version.
	Version int
}

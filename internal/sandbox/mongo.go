package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

// MongoStatus reports the node's mongod as it runs now.
func (n *Node) MongoStatus() mongod.MongoStatus {
	st, err := mongod.LoadMongodState(n.root)
	if err != nil || !st.Running {
		return mongod.MongoStatus{}
	}
	return mongod.MongoStatus{Running: true, Authorization: st.Authorization, BindIP: st.BindIP, Port: st.Port, DataDir: st.DataDir, ReplSetName: st.ReplSetName}
}

// MongoUsers lists the "<db>.<user>" names stored in the data directory the
// running mongod uses or, when it is stopped, where dbPath resolves now.
func (n *Node) MongoUsers() ([]string, error) {
	dir := n.MongoStatus().DataDir
	if dir == "" {
		e := n.Env()
		text, err := os.ReadFile(e.Path("/etc/mongod.conf"))
		if err != nil {
			return nil, fmt.Errorf("mongod is stopped and has no configuration: %w", err)
		}
		cfg, err := mongod.ParseMongodConfig(e, text)
		if err != nil {
			return nil, err
		}
		if dir, err = filepath.EvalSymlinks(cfg.DBPath); err != nil {
			return nil, fmt.Errorf("resolving dbPath: %w", err)
		}
	}
	var us []mongod.MongoUser
	if err := mongod.DataDir(dir).Locked(false, func() (err error) { us, err = mongod.DataDir(dir).Users(); return }); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(us))
	for _, u := range us {
		names = append(names, u.ID)
	}
	sort.Strings(names)
	return names, nil
}

// MongoAuthenticates reports whether user (in admin, or "<db>.<user>") can
// authenticate with password against the running mongod, from a client
// that reaches the node on its private address.
func (n *Node) MongoAuthenticates(user, password string) bool {
	port := n.MongoStatus().Port
	if port == 0 {
		port = 27017
	}
	s, err := mongod.ConnectMongo(n.w.dir, "", mongod.MongoTarget{Host: n.PrivateIP, Port: port})
	if err != nil {
		return false
	}
	db := "admin"
	if d, u, ok := strings.Cut(user, "."); ok {
		db, user = d, u
	}
	return s.Authenticate(db, user, password) == nil
}

// MongoReplicaStatus reports the node's mongod as a replica set member, after
// a convergence pass.
func (n *Node) MongoReplicaStatus() mongod.MongoReplicaStatus {
	var out mongod.MongoReplicaStatus
	_ = mongod.WithReplLock(n.w.dir, func() error {
		w, err := mongod.LoadReplWorld(n.w.dir)
		if err != nil {
			return err
		}
		if err := w.Converge(); err != nil {
			return err
		}
		for _, m := range w.ByHost {
			if m.Root != n.root {
				continue
			}
			_, out.State = w.MemberState(m)
			if m.Cfg != nil {
				out.SetName, _ = m.Cfg["_id"].(string)
				out.Version = m.Version()
				for _, cm := range mongod.MembersOf(m.Cfg) {
					out.Members = append(out.Members, cm.Host)
				}
			}
		}
		return nil
	})
	return out
}

// DialMongo connects to MongoDB with a connection string, from the node at
// fromIP, as Ant Media Server's driver does: with replicaSet it selects the
// set's primary among the hosts, and it authenticates with the URL's
// credentials.
func (w *World) DialMongo(url, fromIP string) (*mongod.MongoConn, error) {
	return mongod.DialMongo(w.dir, url, fromIP)
}

// MongoDocs lists the documents of a collection in the data directory the
// node's running mongod uses, after a replication pass (a member catches up
// in the background).
func (n *Node) MongoDocs(db, coll string) ([]map[string]any, error) {
	dir := n.MongoStatus().DataDir
	if dir == "" {
		return nil, errors.New("mongod is not running")
	}
	var docs []map[string]any
	d := mongod.DataDir(dir)
	err := mongod.WithReplLock(n.w.dir, func() error {
		w, err := mongod.LoadReplWorld(n.w.dir)
		if err == nil {
			err = w.Converge()
		}
		if err != nil {
			return err
		}
		return d.Locked(false, func() error { return d.ReadDocs(db, coll, &docs) })
	})
	return docs, err
}

// SetMongoApplyLag makes the node's mongod, as a secondary, stop applying
// the primary's writes when it next falls behind, for seconds of world
// time; then it catches up.
func (n *Node) SetMongoApplyLag(seconds int) {
	n.w.t.Helper()
	if err := mongod.WriteApplyLag(n.root, mongod.ApplyLag{Seconds: seconds}); err != nil {
		n.w.t.Fatal(err)
	}
}

// Idle lets seconds of virtual time pass on the node while nothing runs on
// it, as on a machine that just waits.
func (n *Node) Idle(seconds int) {
	n.w.t.Helper()
	if err := n.Env().Advance(seconds); err != nil {
		n.w.t.Fatal(err)
	}
}

package mongod

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

func runHello(s *mongoSession, _ string, _ MongoCommand) (map[string]any, error) {
	r := map[string]any{"isWritablePrimary": true, "ismaster": true, "maxWireVersion": 25, "minWireVersion": 0, "ok": 1}
	if s.state.ReplSetName != "" {
		if err := s.helloReplication(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func runBuildInfo(*mongoSession, string, MongoCommand) (map[string]any, error) {
	return map[string]any{"version": mongodVersion, "gitVersion": "sandbox", "modules": []any{}, "ok": 1}, nil
}

func runLogout(s *mongoSession, _ string, _ MongoCommand) (map[string]any, error) {
	s.authUser = ""
	return map[string]any{"ok": 1}, nil
}

func runConnectionStatus(s *mongoSession, _ string, _ MongoCommand) (map[string]any, error) {
	users := []any{}
	if s.authUser != "" {
		db, user, _ := strings.Cut(s.authUser, ".")
		users = append(users, map[string]any{"user": user, "db": db})
	}
	return map[string]any{"authInfo": map[string]any{"authenticatedUsers": users}, "ok": 1}, nil
}

// parseRoles reads a command's roles array: names on the command's
// database, or {role, db} documents.
func parseRoles(db string, v any) ([]roleRef, error) {
	list, ok := v.([]any)
	if !ok {
		return nil, serverError(codeBadValue, "\"roles\" field must be an array")
	}
	var out []roleRef
	for _, e := range list {
		switch r := e.(type) {
		case string:
			out = append(out, roleRef{Role: r, DB: db})
		case map[string]any:
			name, _ := r["role"].(string)
			rdb, _ := r["db"].(string)
			if name == "" || rdb == "" {
				return nil, serverError(codeBadValue, "Role names must be either strings or objects with \"role\" and \"db\" fields")
			}
			out = append(out, roleRef{Role: name, DB: rdb})
		default:
			return nil, serverError(codeBadValue, "Role names must be either strings or objects with \"role\" and \"db\" fields")
		}
	}
	return out, nil
}

func grantPrivileges(roles []roleRef) []privilege {
	var ps []privilege
	for _, r := range roles {
		ps = append(ps, privilege{Res: resource{DB: r.DB}, Action: "grantRole"})
	}
	return ps
}

func createUserPrivileges(_ *mongoSession, db string, c MongoCommand) ([]privilege, error) {
	ps := []privilege{{Res: resource{DB: db}, Action: "createUser"}}
	roles, err := parseRoles(db, c.Fields["roles"])
	if err != nil {
		return nil, err
	}
	return append(ps, grantPrivileges(roles)...), nil
}

func updateUserPrivileges(_ *mongoSession, db string, c MongoCommand) ([]privilege, error) {
	var ps []privilege
	if _, ok := c.Fields["pwd"]; ok {
		ps = append(ps, privilege{Res: resource{DB: db}, Action: "changePassword"})
	}
	if v, ok := c.Fields["roles"]; ok {
		roles, err := parseRoles(db, v)
		if err != nil {
			return nil, err
		}
		ps = append(ps, grantPrivileges(roles)...)
		ps = append(ps, privilege{Res: resource{DB: db}, Action: "revokeRole"})
	}
	if _, ok := c.Fields["customData"]; ok {
		ps = append(ps, privilege{Res: resource{DB: db}, Action: "changeCustomData"})
	}
	return ps, nil
}

func grantRolesPrivileges(_ *mongoSession, db string, c MongoCommand) ([]privilege, error) {
	roles, err := parseRoles(db, c.Fields["roles"])
	return grantPrivileges(roles), err
}

func userPrivilege(action string) func(*mongoSession, string, MongoCommand) ([]privilege, error) {
	return func(_ *mongoSession, db string, _ MongoCommand) ([]privilege, error) {
		return []privilege{{Res: resource{DB: db}, Action: action}}, nil
	}
}

// usersInfoPrivileges: viewUser on the database, except that a user may
// always look at itself (checkAuthForUsersInfo).
func usersInfoPrivileges(s *mongoSession, db string, c MongoCommand) ([]privilege, error) {
	if names, _ := usersInfoTargets(db, c.Fields["usersInfo"]); len(names) == 1 && names[0] == s.authUser {
		return nil, nil
	}
	return []privilege{{Res: resource{DB: db}, Action: "viewUser"}}, nil
}

// usersInfoTargets lists the "<db>.<user>" names a usersInfo asks for; all
// reports a request for every user of db.
func usersInfoTargets(db string, v any) (names []string, all bool) {
	switch x := v.(type) {
	case string:
		return []string{db + "." + x}, false
	case map[string]any:
		u, _ := x["user"].(string)
		d, _ := x["db"].(string)
		if d == "" {
			d = db
		}
		return []string{d + "." + u}, false
	case []any:
		for _, e := range x {
			n, _ := usersInfoTargets(db, e)
			names = append(names, n...)
		}
		return names, false
	}
	return nil, true
}

func (c MongoCommand) password() (string, error) {
	p, ok := c.Fields["pwd"].(string)
	if !ok || p == "" {
		return "", serverError(codeBadValue, "Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db")
	}
	return p, nil
}

func checkRolesExist(roles []roleRef) error {
	for _, r := range roles {
		if !roleExists(r) {
			return serverError(codeRoleNotFound, "Could not find role: %s@%s", r.Role, r.DB)
		}
	}
	return nil
}

// EventUserCreated is the breakpoint event (machine.Breakpoint) of the
// creation of user id (<db>.<user>): the user is stored, and the client
// that asked has no answer yet.
func EventUserCreated(id string) string { return "mongod: created user " + id }

func runCreateUser(s *mongoSession, db string, c MongoCommand) (map[string]any, error) {
	name := c.str("createUser")
	if db == "local" {
		return nil, serverError(codeBadValue, "Cannot create users in the local database")
	}
	pwd, err := c.password()
	if err != nil {
		return nil, err
	}
	if _, ok := c.Fields["roles"]; !ok {
		return nil, serverError(codeBadValue, "\"createUser\" command requires a \"roles\" array")
	}
	roles, err := parseRoles(db, c.Fields["roles"])
	if err != nil {
		return nil, err
	}
	if err := checkRolesExist(roles); err != nil {
		return nil, err
	}
	u := MongoUser{ID: db + "." + name, User: name, DB: db, Credentials: newScramCredential(pwd), Roles: roles}
	err = s.data().Locked(true, func() error {
		us, err := s.data().Users()
		if err != nil {
			return err
		}
		for _, x := range us {
			if x.ID == u.ID {
				return serverError(codeUserAlreadyExists, "User \"%s@%s\" already exists", name, db)
			}
		}
		return s.data().writeDocs("admin", "system.users", append(us, u))
	})
	if err != nil {
		return nil, err
	}
	machine.Breakpoint(s.root, EventUserCreated(u.ID))
	return map[string]any{"ok": 1}, nil
}

// modifyUser applies fn to the stored user <db>.<name>.
func (s *mongoSession) modifyUser(db, name string, fn func(u *MongoUser, us []MongoUser) []MongoUser) error {
	return s.data().Locked(true, func() error {
		us, err := s.data().Users()
		if err != nil {
			return err
		}
		for i := range us {
			if us[i].ID == db+"."+name {
				return s.data().writeDocs("admin", "system.users", fn(&us[i], us))
			}
		}
		return serverError(codeUserNotFound, "User %s@%s not found", name, db)
	})
}

func runUpdateUser(s *mongoSession, db string, c MongoCommand) (map[string]any, error) {
	name := c.str("updateUser")
	_, hasPwd := c.Fields["pwd"]
	_, hasRoles := c.Fields["roles"]
	if !hasPwd && !hasRoles && c.Fields["customData"] == nil {
		return nil, serverError(codeBadValue, "Must specify at least one field to update in updateUser")
	}
	var cred *scramCredential
	if hasPwd {
		pwd, err := c.password()
		if err != nil {
			return nil, err
		}
		cr := newScramCredential(pwd)
		cred = &cr
	}
	var roles []roleRef
	if hasRoles {
		var err error
		if roles, err = parseRoles(db, c.Fields["roles"]); err != nil {
			return nil, err
		}
		if err := checkRolesExist(roles); err != nil {
			return nil, err
		}
	}
	err := s.modifyUser(db, name, func(u *MongoUser, us []MongoUser) []MongoUser {
		if cred != nil {
			u.Credentials = *cred
		}
		if hasRoles {
			u.Roles = roles
		}
		return us
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"ok": 1}, nil
}

func runGrantRolesToUser(s *mongoSession, db string, c MongoCommand) (map[string]any, error) {
	roles, err := parseRoles(db, c.Fields["roles"])
	if err != nil {
		return nil, err
	}
	if err := checkRolesExist(roles); err != nil {
		return nil, err
	}
	err = s.modifyUser(db, c.str("grantRolesToUser"), func(u *MongoUser, us []MongoUser) []MongoUser {
		for _, r := range roles {
			if !containsRole(u.Roles, r) {
				u.Roles = append(u.Roles, r)
			}
		}
		return us
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"ok": 1}, nil
}

func containsRole(rs []roleRef, r roleRef) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func runDropUser(s *mongoSession, db string, c MongoCommand) (map[string]any, error) {
	name := c.str("dropUser")
	err := s.modifyUser(db, name, func(u *MongoUser, us []MongoUser) []MongoUser {
		out := us[:0]
		for _, x := range us {
			if x.ID != u.ID {
				out = append(out, x)
			}
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"ok": 1}, nil
}

func runUsersInfo(s *mongoSession, db string, c MongoCommand) (map[string]any, error) {
	names, all := usersInfoTargets(db, c.Fields["usersInfo"])
	var us []MongoUser
	if err := s.data().Locked(false, func() (err error) { us, err = s.data().Users(); return }); err != nil {
		return nil, err
	}
	out := []any{}
	for _, u := range us {
		if (all && u.DB == db) || contains(names, u.ID) {
			roles := []any{}
			for _, r := range u.Roles {
				roles = append(roles, map[string]any{"role": r.Role, "db": r.DB})
			}
			out = append(out, map[string]any{"_id": u.ID, "userId": u.ID, "user": u.User, "db": u.DB,
				"roles": roles, "mechanisms": []any{"SCRAM-SHA-256"}})
		}
	}
	return map[string]any{"users": out, "ok": 1}, nil
}

// ---------------------------------------------------------------------------
// Documents.

func mongoObjectID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// insertDocs adds documents to a collection; when unique is set, a document
// whose unique field equals an existing one's is refused with E11000.
func (s *mongoSession) insertDocs(db, coll string, docs []map[string]any, unique string) (int, error) {
	n := 0
	err := s.data().Locked(true, func() error {
		var existing []map[string]any
		if err := s.data().ReadDocs(db, coll, &existing); err != nil {
			return err
		}
		for _, d := range docs {
			if _, ok := d["_id"]; !ok {
				d["_id"] = mongoObjectID()
			}
			for _, key := range []string{"_id", unique} {
				if key == "" {
					continue
				}
				for _, x := range existing {
					if fmt.Sprint(x[key]) == fmt.Sprint(d[key]) {
						return serverError(codeDuplicateKey, "E11000 duplicate key error collection: %s.%s index: %s dup key: { %s: %s }",
							db, coll, indexName(key), key, shellJSON(d[key]))
					}
				}
			}
			existing = append(existing, d)
			n++
		}
		return s.data().writeDocs(db, coll, existing)
	})
	return n, err
}

func indexName(key string) string {
	if key == "_id" {
		return "_id_"
	}
	return key + "_1"
}

// findDocs returns a collection's documents that match filter (equality on
// top-level fields).
func (s *mongoSession) findDocs(db, coll string, filter map[string]any) ([]map[string]any, error) {
	var docs []map[string]any
	err := s.data().Locked(false, func() error { return s.data().ReadDocs(db, coll, &docs) })
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, d := range docs {
		if matches(d, filter) {
			out = append(out, d)
		}
	}
	return out, nil
}

func matches(d, filter map[string]any) bool {
	for k, v := range filter {
		if fmt.Sprint(d[k]) != fmt.Sprint(v) {
			return false
		}
	}
	return true
}

func asDocs(v any) []map[string]any {
	list, _ := v.([]any)
	var out []map[string]any
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func runInsert(s *mongoSession, db string, c MongoCommand) (map[string]any, error) {
	n, err := s.insertDocs(db, c.str("insert"), asDocs(c.Fields["documents"]), "")
	if err != nil {
		return nil, err
	}
	return map[string]any{"n": n, "ok": 1}, nil
}

func runFind(s *mongoSession, db string, c MongoCommand) (map[string]any, error) {
	filter, _ := c.Fields["filter"].(map[string]any)
	docs, err := s.findDocs(db, c.str("find"), filter)
	if err != nil {
		return nil, err
	}
	batch := make([]any, 0, len(docs))
	for _, d := range docs {
		batch = append(batch, d)
	}
	return map[string]any{"cursor": map[string]any{"firstBatch": batch, "id": 0, "ns": db + "." + c.str("find")}, "ok": 1}, nil
}

func runCount(s *mongoSession, db string, c MongoCommand) (map[string]any, error) {
	filter, _ := c.Fields["query"].(map[string]any)
	docs, err := s.findDocs(db, c.str("count"), filter)
	if err != nil {
		return nil, err
	}
	return map[string]any{"n": len(docs), "ok": 1}, nil
}

func runDelete(s *mongoSession, db string, c MongoCommand) (map[string]any, error) {
	coll := c.str("delete")
	n := 0
	err := s.data().Locked(true, func() error {
		var docs []map[string]any
		if err := s.data().ReadDocs(db, coll, &docs); err != nil {
			return err
		}
		for _, del := range asDocs(c.Fields["deletes"]) {
			q, _ := del["q"].(map[string]any)
			keep := docs[:0]
			for _, d := range docs {
				if matches(d, q) {
					n++
					continue
				}
				keep = append(keep, d)
			}
			docs = keep
		}
		return s.data().writeDocs(db, coll, docs)
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{"n": n, "ok": 1}, nil
}

func runListDatabases(s *mongoSession, _ string, _ MongoCommand) (map[string]any, error) {
	files, _ := filepath.Glob(filepath.Join(s.state.DataDir, "*.json"))
	seen := map[string]bool{}
	dbs := []any{}
	for _, f := range files {
		db, _, _ := strings.Cut(filepath.Base(f), ".")
		if !seen[db] {
			seen[db] = true
			dbs = append(dbs, map[string]any{"name": db, "empty": false})
		}
	}
	return map[string]any{"databases": dbs, "ok": 1}, nil
}

func runServerStatus(s *mongoSession, _ string, _ MongoCommand) (map[string]any, error) {
	return map[string]any{"host": s.addr, "version": mongodVersion, "process": "mongod", "ok": 1}, nil
}

func runGetCmdLineOpts(s *mongoSession, _ string, _ MongoCommand) (map[string]any, error) {
	parsed := map[string]any{
		"storage":  map[string]any{"dbPath": s.state.DataDir},
		"net":      map[string]any{"port": s.state.Port, "bindIp": strings.Join(s.state.BindIP, ",")},
		"security": map[string]any{"authorization": map[bool]string{true: "enabled", false: "disabled"}[s.state.Authorization]},
	}
	if s.state.ReplSetName != "" {
		parsed["replication"] = map[string]any{"replSetName": s.state.ReplSetName}
	}
	return map[string]any{"parsed": parsed, "ok": 1}, nil
}

// ---------------------------------------------------------------------------
// Replication: the stored configuration (mongo_repl.go models the set).

// replSetConfig is the stored replica set configuration (local.system.replset),
// nil before rs.initiate().
func (s *mongoSession) replSetConfig() (map[string]any, error) {
	var cfgs []map[string]any
	if err := s.data().Locked(false, func() error { return s.data().ReadDocs("local", "system.replset", &cfgs) }); err != nil {
		return nil, err
	}
	if len(cfgs) == 0 {
		return nil, nil
	}
	return cfgs[0], nil
}

// replEnabled fails as checkReplEnabledForCommand does.
func (s *mongoSession) replEnabled() (map[string]any, error) {
	if s.state.ReplSetName == "" {
		return nil, serverError(codeNoReplicationEnabled, "not running with --replSet")
	}
	cfg, err := s.replSetConfig()
	if err == nil && (cfg == nil || s.loading()) {
		cfg, err = nil, serverError(codeNotYetInitialized, "no replset config has been received")
	}
	return cfg, err
}

func runReplSetGetConfig(s *mongoSession, _ string, _ MongoCommand) (map[string]any, error) {
	cfg, err := s.replEnabled()
	if err != nil {
		return nil, err
	}
	return map[string]any{"config": cfg, "ok": 1}, nil
}

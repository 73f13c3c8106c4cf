package mongod_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

const mongoTestIP = "10.0.1.10"

// mongoConf renders a mongod.conf for a node, rooted like a rewritten script's.
func mongoConf(e *machine.Env, auth, bindIP, extra string) string {
	return fmt.Sprintf("storage:\n  dbPath: %s\nsystemLog:\n  destination: file\n  path: %s\nnet:\n  port: 27017\n  bindIp: %s\nsecurity:\n  authorization: %s\n%s",
		e.Path("/var/lib/mongodb"), e.Path("/var/log/mongodb/mongod.log"), bindIP, auth, extra)
}

// newMongoNode launches an Ubuntu node with mongodb-org installed and
// /etc/mongod.conf written, mongod not started.
func newMongoNode(t *testing.T, conf func(e *machine.Env) string) (*sandbox.World, *sandbox.Node, *machine.Env) {
	t.Helper()
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := w.NewNode(sandbox.NodeSpec{InstanceID: "i-0mongo", PrivateIP: mongoTestIP})
	e := n.Env()
	for _, d := range []string{"/var/lib/mongodb", "/var/log/mongodb"} {
		if err := os.MkdirAll(e.Path(d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := machine.MarkInstalled(e, "mongodb-org"); err != nil {
		t.Fatal(err)
	}
	writeMongoConf(t, e, conf(e))
	return w, n, e
}

func writeMongoConf(t *testing.T, e *machine.Env, text string) {
	t.Helper()
	if err := os.WriteFile(e.Path("/etc/mongod.conf"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func startMongod(t *testing.T, e *machine.Env) {
	t.Helper()
	if err := mongod.Start(e); err != nil {
		t.Fatalf("mongodStart: want nil, got %v", err)
	}
}

func localSession(t *testing.T, w *sandbox.World, n *sandbox.Node) *mongod.MongoSession {
	t.Helper()
	s, err := mongod.ConnectMongo(w.Dir(), n.Root(), mongod.MongoTarget{Host: "127.0.0.1", Port: 27017})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	return s
}

func cmd(kv ...any) mongod.MongoCommand {
	c := mongod.MongoCommand{Fields: map[string]any{}}
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		c.Keys = append(c.Keys, k)
		c.Fields[k] = kv[i+1]
	}
	return c
}

func createUserCmd(user, pwd string, roles ...any) mongod.MongoCommand {
	return cmd("createUser", user, "pwd", pwd, "roles", roles)
}

// checkMongoErr compares an error with the wanted code and message part
// (code 0: no error wanted).
func checkMongoErr(t *testing.T, what string, err error, code int, msg string) {
	t.Helper()
	if code == 0 {
		if err != nil {
			t.Errorf("%s: want success, got %v", what, err)
		}
		return
	}
	var se *mongod.MongoServerError
	if !errors.As(err, &se) {
		t.Errorf("%s: want server error %d, got %v", what, code, err)
		return
	}
	if se.Code != code || !strings.Contains(se.Message, msg) {
		t.Errorf("%s: want code %d with %q, got %d %q", what, code, msg, se.Code, se.Message)
	}
}

func TestMongoLocalhostExceptionMatrix(t *testing.T) {
	w, n, e := newMongoNode(t, func(e *machine.Env) string { return mongoConf(e, "enabled", "127.0.0.1,"+mongoTestIP, "") })
	startMongod(t, e)
	local := localSession(t, w, n)
	remote, err := mongod.ConnectMongo(w.Dir(), "", mongod.MongoTarget{Host: mongoTestIP, Port: 27017})
	if err != nil {
		t.Fatalf("connect from outside: %v", err)
	}
	steps := []struct {
		name string
		s    *mongod.MongoSession
		db   string
		c    mongod.MongoCommand
		code int
		msg  string
	}{
		{"ping needs no auth", local, "admin", cmd("ping", 1), 0, ""},
		{"no users: usersInfo refused", local, "admin", cmd("usersInfo", 1), 13, "not authorized on admin to execute command { usersInfo: 1"},
		{"no users: createUser outside admin refused", local, "serverdb", createUserCmd("x", "pw", "readWrite"), 13, "not authorized on serverdb"},
		{"no users: granting a serverdb role refused", local, "admin", createUserCmd("x", "pw", map[string]any{"role": "readWrite", "db": "serverdb"}), 13, `pwd: "xxx"`},
		{"no users: remote createUser refused", remote, "admin", createUserCmd("x", "pw", "root"), 13, "Command createUser requires authentication"},
		{"no users: AnyDatabase role outside admin unknown", local, "admin", createUserCmd("x", "pw", map[string]any{"role": "readWriteAnyDatabase", "db": "serverdb"}), 13, "not authorized"},
		{"no users: local createUser root allowed", local, "admin", createUserCmd("root", "rootpw", "root"), 0, ""},
		{"one user: unauthenticated createUser refused", local, "admin", createUserCmd("app", "apppw", "readWriteAnyDatabase"), 13, "Command createUser requires authentication"},
		{"one user: unauthenticated usersInfo refused", local, "admin", cmd("usersInfo", 1), 13, "Command usersInfo requires authentication"},
		{"one user: replSetGetStatus refused", local, "admin", cmd("replSetGetStatus", 1), 13, "requires authentication"},
	}
	for _, st := range steps {
		_, err := st.s.RunCommand(st.db, st.c)
		checkMongoErr(t, st.name, err, st.code, st.msg)
	}
	if err := local.Authenticate("admin", "root", "wrong"); err == nil {
		t.Fatal("authenticate with a wrong password: want error, got nil")
	}
	checkMongoErr(t, "wrong password", local.Authenticate("admin", "root", "wrong"), 18, "Authentication failed.")
	checkMongoErr(t, "root authenticates", local.Authenticate("admin", "root", "rootpw"), 0, "")
	rootSteps := []struct {
		name string
		c    mongod.MongoCommand
		db   string
		code int
		msg  string
	}{
		{"root: create app user", createUserCmd("app", "apppw", "readWriteAnyDatabase", "clusterMonitor"), "admin", 0, ""},
		{"root: duplicate user", createUserCmd("app", "other", "root"), "admin", 51003, `User "app@admin" already exists`},
		{"root: unknown role", createUserCmd("bad", "pw", map[string]any{"role": "readWriteAnyDatabase", "db": "serverdb"}), "admin", 31, "Could not find role: readWriteAnyDatabase@serverdb"},
		{"root: usersInfo", cmd("usersInfo", 1), "admin", 0, ""},
		{"root: insert", cmd("insert", "User", "documents", []any{map[string]any{"email": "a@b"}}), "serverdb", 0, ""},
		{"root: update missing user", cmd("updateUser", "ghost", "pwd", "x"), "admin", 11, "User ghost@admin not found"},
	}
	for _, st := range rootSteps {
		_, err := local.RunCommand(st.db, st.c)
		checkMongoErr(t, st.name, err, st.code, st.msg)
	}
	app := localSession(t, w, n)
	checkMongoErr(t, "app authenticates", app.Authenticate("admin", "app", "apppw"), 0, "")
	appSteps := []struct {
		name string
		c    mongod.MongoCommand
		db   string
		code int
		msg  string
	}{
		{"app: insert into serverdb", cmd("insert", "User", "documents", []any{map[string]any{"email": "c@d"}}), "serverdb", 0, ""},
		{"app: find in serverdb", cmd("find", "User", "filter", map[string]any{}), "serverdb", 0, ""},
		{"app: create user refused", createUserCmd("evil", "pw", "root"), "admin", 13, "not authorized on admin to execute command { createUser"},
		{"app: sees itself", cmd("usersInfo", map[string]any{"user": "app", "db": "admin"}), "admin", 0, ""},
		{"app: cannot list all users", cmd("usersInfo", 1), "admin", 13, "not authorized"},
		{"app: cluster monitor", cmd("replSetGetStatus", 1), "admin", 76, "not running with --replSet"},
	}
	for _, st := range appSteps {
		_, err := app.RunCommand(st.db, st.c)
		checkMongoErr(t, st.name, err, st.code, st.msg)
	}
}

func TestMongoAuthorizationDisabledAllowsAll(t *testing.T) {
	w, n, e := newMongoNode(t, func(e *machine.Env) string { return mongoConf(e, "disabled", "127.0.0.1", "") })
	startMongod(t, e)
	s := localSession(t, w, n)
	for _, c := range []mongod.MongoCommand{cmd("usersInfo", 1), createUserCmd("a", "pw", "root"), createUserCmd("b", "pw", "readWrite"), cmd("usersInfo", 1)} {
		_, err := s.RunCommand("admin", c)
		checkMongoErr(t, c.Name()+" without authorization", err, 0, "")
	}
}

func TestMongoPersistsAcrossRestart(t *testing.T) {
	w, n, e := newMongoNode(t, func(e *machine.Env) string { return mongoConf(e, "enabled", "127.0.0.1,"+mongoTestIP, "") })
	startMongod(t, e)
	if _, err := localSession(t, w, n).RunCommand("admin", createUserCmd("root", "s3cret-pw", "root")); err != nil {
		t.Fatal(err)
	}
	if err := mongod.Stop(e); err != nil {
		t.Fatal(err)
	}
	if n.MongoStatus().Running {
		t.Fatal("after mongodStop: want stopped, got running")
	}
	if n.MongoAuthenticates("root", "s3cret-pw") {
		t.Error("stopped mongod: want no authentication, got success")
	}
	if got, err := n.MongoUsers(); err != nil || strings.Join(got, ",") != "admin.root" {
		t.Errorf("users while stopped: want [admin.root], got %v %v", got, err)
	}
	startMongod(t, e)
	if !n.MongoAuthenticates("root", "s3cret-pw") {
		t.Error("after restart: want root to authenticate, got failure")
	}
	if n.MongoAuthenticates("root", "wrong") {
		t.Error("wrong password: want failure, got success")
	}
	b, err := os.ReadFile(filepath.Join(n.MongoStatus().DataDir, "admin.system.users.json"))
	if err != nil || strings.Contains(string(b), "s3cret-pw") {
		t.Errorf("users file: want no plain password, got %q (%v)", b, err)
	}
}

func TestMongoBindIPRefusesUnlistedAddress(t *testing.T) {
	w, n, e := newMongoNode(t, func(e *machine.Env) string { return mongoConf(e, "disabled", "127.0.0.1", "") })
	w.NewNode(sandbox.NodeSpec{InstanceID: "i-0client", PrivateIP: "10.0.2.20"})
	startMongod(t, e)
	url := "mongodb://" + mongoTestIP + ":27017/serverdb"
	if _, err := mongod.DialMongo(w.Dir(), url, "10.0.2.20"); err == nil || !strings.Contains(err.Error(), "Timed out after 30000 ms while waiting to connect") {
		t.Errorf("bindIp 127.0.0.1, remote client: want timeout, got %v", err)
	}
	if _, err := mongod.DialMongo(w.Dir(), "mongodb://127.0.0.1:27017/serverdb", n.PrivateIP); err != nil {
		t.Errorf("loopback client on the node: want success, got %v", err)
	}
	writeMongoConf(t, e, mongoConf(e, "disabled", "127.0.0.1,"+mongoTestIP, ""))
	startMongod(t, e)
	if _, err := mongod.DialMongo(w.Dir(), url, "10.0.2.20"); err != nil {
		t.Errorf("bindIp lists the private address: want success, got %v", err)
	}
	if _, err := mongod.DialMongo(w.Dir(), "mongodb://10.9.9.9:27017/serverdb", "10.0.2.20"); err == nil {
		t.Error("no host at address: want timeout, got success")
	}
}

func TestMongoSnapshotsDBPathAtStart(t *testing.T) {
	w, n, e := newMongoNode(t, func(e *machine.Env) string { return mongoConf(e, "disabled", "127.0.0.1", "") })
	startMongod(t, e)
	rootDisk, _ := filepath.EvalSymlinks(e.Path("/var/lib/mongodb"))
	// A volume mounted over the data directory after mongod started.
	volume := filepath.Join(w.Dir(), "volumes", "vol-test", "fs")
	if err := os.MkdirAll(volume, 0o755); err != nil {
		t.Fatal(err)
	}
	hidden := e.State("shadowed/var/lib/mongodb")
	if err := os.MkdirAll(filepath.Dir(hidden), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.Path("/var/lib/mongodb"), hidden); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(volume, e.Path("/var/lib/mongodb")); err != nil {
		t.Fatal(err)
	}
	st, _ := mongod.LoadMongodState(n.Root())
	st.DataDir = hidden // what system.go's moveOpenPaths does for running services
	if err := mongod.SaveMongodState(n.Root(), st); err != nil {
		t.Fatal(err)
	}
	if _, err := localSession(t, w, n).RunCommand("admin", createUserCmd("early", "pw", "root")); err != nil {
		t.Fatal(err)
	}
	if got := n.MongoStatus().DataDir; got == volume || !strings.HasSuffix(got, "var/lib/mongodb") {
		t.Errorf("running mongod: want the directory it opened (%s moved aside), got %s", rootDisk, got)
	}
	if _, err := os.Stat(filepath.Join(volume, "admin.system.users.json")); err == nil {
		t.Error("user written before restart: want it on the old directory, got it on the volume")
	}
	startMongod(t, e)
	if got := n.MongoStatus().DataDir; got != volume {
		t.Errorf("after restart: want data dir %s, got %s", volume, got)
	}
	if got, _ := n.MongoUsers(); len(got) != 0 {
		t.Errorf("fresh volume: want no users, got %v", got)
	}
}

func TestMongoConfigValidation(t *testing.T) {
	cases := []struct {
		name    string
		conf    func(e *machine.Env) string
		keyMode os.FileMode
		want    string
	}{
		{"valid", func(e *machine.Env) string { return mongoConf(e, "enabled", "127.0.0.1", "") }, 0, ""},
		{"missing dbPath", func(e *machine.Env) string {
			return strings.Replace(mongoConf(e, "enabled", "127.0.0.1", ""), "/var/lib/mongodb", "/var/lib/nowhere", 1)
		}, 0, "Data directory"},
		{"removed journal option", func(e *machine.Env) string {
			return mongoConf(e, "enabled", "127.0.0.1", "") + "storage:\n  journal:\n    enabled: true\n"
		}, 0, "yaml"},
		{"journal option", func(e *machine.Env) string {
			return strings.Replace(mongoConf(e, "enabled", "127.0.0.1", ""), "storage:\n", "storage:\n  journal:\n    enabled: true\n", 1)
		}, 0, "Unrecognized option: storage.journal.enabled"},
		{"bad authorization", func(e *machine.Env) string { return mongoConf(e, "on", "127.0.0.1", "") }, 0, "security.authorization"},
		{"foreign bindIp", func(e *machine.Env) string { return mongoConf(e, "enabled", "127.0.0.1,10.9.9.9", "") }, 0, "Cannot assign requested address"},
		{"key file too open", func(e *machine.Env) string {
			return strings.Replace(mongoConf(e, "enabled", "127.0.0.1", ""), "security:\n", "security:\n  keyFile: "+e.Path("/etc/mongo.key")+"\n", 1)
		}, 0o644, "are too open"},
		{"key file owner only", func(e *machine.Env) string {
			return strings.Replace(mongoConf(e, "enabled", "127.0.0.1", ""), "security:\n", "security:\n  keyFile: "+e.Path("/etc/mongo.key")+"\n", 1)
		}, 0o400, ""},
		{"replica set name", func(e *machine.Env) string {
			return mongoConf(e, "enabled", "127.0.0.1", "replication:\n  replSetName: rs0\n")
		}, 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, n, e := newMongoNode(t, tc.conf)
			if tc.keyMode != 0 {
				if err := os.WriteFile(e.Path("/etc/mongo.key"), []byte("c2VjcmV0a2V5c2VjcmV0a2V5\n"), tc.keyMode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(e.Path("/etc/mongo.key"), tc.keyMode); err != nil {
					t.Fatal(err)
				}
			}
			err := mongod.Start(e)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want start, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			case tc.want != "" && n.MongoStatus().Running:
				t.Fatal("failed start: want stopped, got running")
			}
			if tc.name == "replica set name" && n.MongoStatus().ReplSetName != "rs0" {
				t.Errorf("want replSetName rs0, got %q", n.MongoStatus().ReplSetName)
			}
		})
	}
}

func TestMongoReplicaSetStatus(t *testing.T) {
	w, n, e := newMongoNode(t, func(e *machine.Env) string { return mongoConf(e, "disabled", "127.0.0.1", "") })
	startMongod(t, e)
	_, err := localSession(t, w, n).RunCommand("admin", cmd("replSetGetStatus", 1))
	checkMongoErr(t, "standalone", err, 76, "not running with --replSet")
	writeMongoConf(t, e, mongoConf(e, "disabled", "127.0.0.1", "replication:\n  replSetName: rs0\n"))
	startMongod(t, e)
	s := localSession(t, w, n)
	_, err = s.RunCommand("admin", cmd("replSetGetStatus", 1))
	checkMongoErr(t, "replSetName, no config", err, 94, "no replset config has been received")
	_, err = s.RunCommand("admin", cmd("replSetInitiate", map[string]any{}))
	checkMongoErr(t, "initiate", err, 0, "")
	r, err := s.RunCommand("admin", cmd("replSetGetStatus", 1))
	checkMongoErr(t, "status after initiate", err, 0, "")
	if r["set"] != "rs0" {
		t.Errorf("want set rs0, got %v", r["set"])
	}
}

func TestMongoDialAndUniqueInsert(t *testing.T) {
	w, n, e := newMongoNode(t, func(e *machine.Env) string { return mongoConf(e, "enabled", "127.0.0.1,"+mongoTestIP, "") })
	w.NewNode(sandbox.NodeSpec{InstanceID: "i-0ams", PrivateIP: "10.0.2.20"})
	startMongod(t, e)
	s := localSession(t, w, n)
	for _, c := range []mongod.MongoCommand{createUserCmd("root", "r", "root")} {
		if _, err := s.RunCommand("admin", c); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Authenticate("admin", "root", "r"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RunCommand("admin", createUserCmd("app", "p@ss:w/rd", "readWriteAnyDatabase")); err != nil {
		t.Fatal(err)
	}
	base := "mongodb://app:p%40ss%3Aw%2Frd@" + mongoTestIP + ":27017/serverdb?authSource=admin"
	if _, err := mongod.DialMongo(w.Dir(), "mongodb://app:wrong@"+mongoTestIP+":27017/serverdb?authSource=admin", "10.0.2.20"); err == nil ||
		!strings.Contains(err.Error(), "Exception authenticating MongoCredential") {
		t.Errorf("bad credentials: want MongoSecurityException, got %v", err)
	}
	if _, err := mongod.DialMongo(w.Dir(), "mongodb://"+mongoTestIP+":27017/serverdb", "10.0.2.20"); err != nil {
		t.Errorf("no credentials: want a connection (refused only at first command), got %v", err)
	}
	if _, err := mongod.DialMongo(w.Dir(), base+"&replicaSet=rs0", "10.0.2.20"); err == nil || !strings.Contains(err.Error(), "ReadPreferenceServerSelector") {
		t.Errorf("replicaSet on a standalone: want server selection timeout, got %v", err)
	}
	c, err := mongod.DialMongo(w.Dir(), base, "10.0.2.20")
	if err != nil {
		t.Fatalf("percent-encoded credentials: want success, got %v", err)
	}
	defer c.Close()
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// One client per goroutine, as two Ant Media nodes would be.
			ci, err := mongod.DialMongo(w.Dir(), base, "10.0.2.20")
			if err != nil {
				errs[i] = err
				return
			}
			defer ci.Close()
			errs[i] = ci.InsertUnique("serverdb", "User", map[string]any{"email": "admin@example.com", "n": i}, "email")
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		var se *mongod.MongoServerError
		switch {
		case err == nil:
			ok++
		case errors.As(err, &se) && se.Code == 11000 && strings.Contains(err.Error(), "E11000 duplicate key error collection: serverdb.User"):
		default:
			t.Errorf("concurrent insert: want success or E11000, got %v", err)
		}
	}
	docs, err := c.Find("serverdb", "User")
	if ok != 1 || err != nil || len(docs) != 1 {
		t.Errorf("concurrent inserts of one email: want 1 success and 1 document, got %d and %d (%v)", ok, len(docs), err)
	}
	if err := mongod.Stop(e); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Find("serverdb", "User"); err == nil || !strings.Contains(err.Error(), "MongoTimeoutException") {
		t.Errorf("mongod stopped: want timeout, got %v", err)
	}
	startMongod(t, e)
	if docs, err := c.Find("serverdb", "User"); err != nil || len(docs) != 1 {
		t.Errorf("after restart: want reconnect and 1 document, got %d %v", len(docs), err)
	}
}

func TestMongoURLParsing(t *testing.T) {
	u, err := mongod.ParseMongoURL("mongodb://us%65r:p%2Bw+d@10.0.0.1:27018,10.0.0.2/serverdb?replicaSet=rs0")
	if err != nil {
		t.Fatal(err)
	}
	if u.User != "user" || u.Password != "p+w+d" || len(u.Hosts) != 2 || u.Hosts[0].Port != 27018 || u.Hosts[1].Port != 27017 ||
		u.DB != "serverdb" || u.AuthSource != "serverdb" || u.ReplicaSet != "rs0" {
		t.Errorf("parse: got %+v", u)
	}
	if _, err := mongod.ParseMongoURL("http://x"); err == nil {
		t.Error("wrong scheme: want error, got nil")
	}
}

func TestMongoshExitCodes(t *testing.T) {
	sandbox.Require(t)
	w, n, e := newMongoNode(t, func(e *machine.Env) string { return mongoConf(e, "enabled", "127.0.0.1", "") })
	_ = w
	run := func(script string) *sandbox.Result {
		t.Helper()
		return n.Run("mongosh-test.sh", "export PW=s3cret-pw\n"+script)
	}
	if r := run(`mongosh --quiet --eval 'db.runCommand({ping: 1}).ok'`); r.ExitCode != 1 || !strings.Contains(r.Output, "MongoNetworkError: connect ECONNREFUSED 127.0.0.1:27017") {
		t.Errorf("mongod stopped: want exit 1 and ECONNREFUSED, got %d %q", r.ExitCode, r.Output)
	}
	startMongod(t, e)
	cases := []struct {
		name, js string
		code     int
		out      string
	}{
		{"ping prints last value", `db.runCommand({ping: 1}).ok`, 0, "1\n"},
		{"result printed like inspect", `db.runCommand({ping: 1})`, 0, "{ ok: 1 }\n"},
		{"quit code", `print("before"); quit(3); print("after")`, 3, "before\n"},
		{"uncaught JS error", `throw new Error("boom")`, 1, "Error: boom\n"},
		{"usersInfo under the localhost exception", `db.getSiblingDB("admin").getUsers()`, 1, "MongoServerError: not authorized on admin to execute command { usersInfo: 1"},
		{"caught server error has code", `try { db.getSiblingDB("admin").getUser("x") } catch (e) { print(e.code, e.codeName) }`, 0, "13 Unauthorized\n"},
		{"missing pwd", `db.getSiblingDB("admin").createUser({user: "a", roles: []})`, 1, `MongoshInvalidInputError: [COMMON-10001] Missing required property: "pwd"`},
		{"first user", `const a = db.getSiblingDB("admin"); if (a.getSiblingDB("admin").createUser({user: "root", pwd: process.env.PW, roles: ["root"]}).ok === 1) print("created")`, 0, "created\n"},
		{"second user needs auth", `db.getSiblingDB("admin").createUser({user: "app", pwd: "x", roles: ["readWriteAnyDatabase"]})`, 1, "MongoServerError: Command createUser requires authentication"},
		{"bad password", `db.getSiblingDB("admin").auth("root", "nope")`, 1, "MongoServerError: Authentication failed."},
		{"auth then manage users", `const a = db.getSiblingDB("admin"); a.auth("root", process.env.PW); a.createUser({user: "app", pwd: "x", roles: ["readWriteAnyDatabase"]}); a.updateUser("app", {pwd: "y"}); printjson(a.getUser("app").roles)`, 0, "[ { db: 'admin', role: 'readWriteAnyDatabase' } ]\n"},
		{"collections", `db.getSiblingDB("admin").auth("app", "y"); const u = db.getSiblingDB("serverdb").User; u.insertOne({email: "a@b"}); print(u.countDocuments({email: "a@b"}))`, 0, "1\n"},
	}
	for _, tc := range cases {
		r := run("mongosh --quiet --norc --eval '" + tc.js + "' 2>&1")
		if r.ExitCode != tc.code || !strings.Contains(r.Output, tc.out) {
			t.Errorf("%s: want exit %d with %q, got %d %q", tc.name, tc.code, tc.out, r.ExitCode, r.Output)
		}
	}
	for _, x := range n.Execs() {
		if strings.Contains(strings.Join(x.Argv, " "), "s3cret-pw") {
			t.Errorf("password on a command line: %v", x.Argv)
		}
	}
	// Credentials in the connection string (recorded in argv: tests above
	// prove the boot path does not do this).
	if r := run(`mongosh --quiet "mongodb://root:$PW@127.0.0.1:27017/admin" --eval 'db.runCommand({usersInfo: 1}).users.length'`); r.ExitCode != 0 || !strings.Contains(r.Output, "2") {
		t.Errorf("credentials in the URL: want 2 users, got %d %q", r.ExitCode, r.Output)
	}
}

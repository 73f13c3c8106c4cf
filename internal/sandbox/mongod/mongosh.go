package mongod

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/dop251/goja"
)

// The MongoDB shell. It follows mongodb-js/mongosh:
//   - packages/cli-repl/src/cli-repl.ts, loadCommandLineFilesAndEval: the
//     --eval scripts run in order in one context; the value of the last one is
//     printed unless undefined; an exception ends the run with exit code 1.
//   - packages/cli-repl/src/run.ts: an error escaping start-up or the scripts
//     is printed to stderr as "<name>: <message>" and the process exits 1.
//   - packages/shell-api/src/shell-api.ts, exit/quit: end the process with the
//     given code (0 when none).
//   - packages/shell-api/src/database.ts: the Database helpers (createUser,
//     updateUser, getUser via usersInfo, auth, runCommand, adminCommand...),
//     which send the server commands modelled in mongo.go.
//   - packages/shell-api/src/helpers.ts, assertKeysDefined: "Missing required
//     property" as MongoshInvalidInputError [COMMON-10001].
// The shell API is written in JavaScript (mongoshPrelude) on top of three
// native calls; goja runs it.

// mongoshVersion is the shell version the stand-in reports.
const mongoshVersion = "2.3.8"

// mongoshOptions are the command line options the stand-in understands.
type mongoshOptions struct {
	quiet, nodb    bool
	evals, files   []string
	uri            string // positional connection string, host or db
	host           string
	port           int
	user, password string
	authDB         string
	hasUser        bool
}

func parseMongoshArgs(args []string) (mongoshOptions, error) {
	var o mongoshOptions
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, val, hasVal := strings.Cut(a, "=")
		next := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("Option %s requires an argument", name)
			}
			i++
			return args[i], nil
		}
		var err error
		switch name {
		case "--quiet":
			o.quiet = true
		case "--norc", "--verbose", "--shell":
		case "--nodb":
			o.nodb = true
		case "--eval":
			var s string
			s, err = next()
			o.evals = append(o.evals, s)
		case "--file", "-f":
			var s string
			s, err = next()
			o.files = append(o.files, s)
		case "--host":
			o.host, err = next()
		case "--port":
			var s string
			if s, err = next(); err == nil {
				o.port, err = strconv.Atoi(s)
			}
		case "-u", "--username":
			o.user, err = next()
			o.hasUser = true
		case "-p", "--password":
			o.password, err = next()
		case "--authenticationDatabase":
			o.authDB, err = next()
		default:
			switch {
			case strings.HasPrefix(a, "-"):
				err = fmt.Errorf("Error parsing command line: unrecognized option: %s", a)
			case strings.HasSuffix(a, ".js"):
				o.files = append(o.files, a)
			case o.uri == "":
				o.uri = a
			default:
				err = fmt.Errorf("Error parsing command line: too many positional arguments: %s", a)
			}
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// connectionURL turns the positional argument and --host/--port into a
// connection string the way mongosh's arg-parser does: a mongodb:// URL, a
// host[:port]/db, a host[:port], or a bare database name.
func (o mongoshOptions) connectionURL() (mongoURL, error) {
	raw := o.uri
	switch {
	case strings.HasPrefix(raw, "mongodb://"):
	case strings.HasPrefix(raw, "mongodb+srv://"):
		return mongoURL{}, errors.New("MongoParseError: mongodb+srv URIs are not modelled by the sandbox")
	case strings.Contains(raw, "/"):
		raw = "mongodb://" + raw
	case raw != "" && (strings.Contains(raw, ":") || net.ParseIP(raw) != nil):
		raw = "mongodb://" + raw + "/test"
	default:
		host := o.host
		if host == "" {
			host = "127.0.0.1"
		}
		if o.port != 0 && !strings.Contains(host, ":") {
			host += ":" + strconv.Itoa(o.port)
		}
		db := raw
		if db == "" {
			db = "test"
		}
		raw = "mongodb://" + host + "/" + db
	}
	u, err := parseMongoURL(raw)
	if err != nil {
		return u, fmt.Errorf("MongoParseError: %v", err)
	}
	if u.DB == "" {
		u.DB = "test"
	}
	if o.hasUser {
		u.User, u.Password, u.HasCredentials = o.user, o.password, true
	}
	if o.authDB != "" {
		u.AuthSource = o.authDB
	}
	return u, nil
}

// Mongosh is the MongoDB shell stand-in: it connects to the mongod model and
// runs the --eval scripts and script files for real.
func Mongosh(e *machine.Env, args []string) int {
	o, err := parseMongoshArgs(args)
	if err != nil {
		e.Errorf("MongoshUnimplementedError: %v", err)
		return 1
	}
	sh := &shell{env: e, opts: o}
	if !o.nodb {
		if err := sh.connect(); err != nil {
			e.Errorf("%s", err)
			return 1
		}
	}
	if !o.quiet {
		sh.banner()
	}
	return sh.runScripts()
}

// shell is one mongosh process: its connection and its JavaScript runtime.
type shell struct {
	env  *machine.Env
	opts mongoshOptions
	url  mongoURL
	sess *mongoSession
	rt   *goja.Runtime
	exit *int
}

// connect opens the connection and authenticates with the credentials of
// the connection string or -u/-p, as mongosh does before any script runs.
func (sh *shell) connect() error {
	u, err := sh.opts.connectionURL()
	if err != nil {
		return err
	}
	sh.url = u
	s, err := ConnectMongo(sh.env.WorldDir, sh.env.Root, u.Hosts[0])
	if u.ReplicaSet != "" {
		// With replicaSet the driver discovers the set from the seed list
		// and selects its primary (server selection, readPreference primary).
		s, err = nil, nil
		for _, h := range u.Hosts {
			if c, cerr := ConnectMongo(sh.env.WorldDir, sh.env.Root, h); cerr == nil && c.isPrimaryOf(u.ReplicaSet) {
				s = c
				break
			}
		}
		if s == nil {
			return errors.New("MongoServerSelectionError: Server selection timed out after 30000 ms")
		}
	}
	if err != nil {
		return fmt.Errorf("MongoNetworkError: %v", err)
	}
	sh.sess = s
	if u.HasCredentials {
		if err := s.Authenticate(u.AuthSource, u.User, u.Password); err != nil {
			return shellErrorText(err)
		}
	}
	return nil
}

func shellErrorText(err error) error {
	var se *MongoServerError
	if errors.As(err, &se) {
		return fmt.Errorf("MongoServerError: %s", se.Message)
	}
	return fmt.Errorf("MongoNetworkError: %v", err)
}

func (sh *shell) banner() {
	fmt.Fprintf(sh.env.Stdout, "Current Mongosh Log ID:\t%s\n", mongoObjectID())
	if sh.sess != nil {
		fmt.Fprintf(sh.env.Stdout, "Connecting to:\t\tmongodb://%s/%s?directConnection=true&serverSelectionTimeoutMS=2000&appName=mongosh+%s\n", sh.sess.addr, sh.url.DB, mongoshVersion)
		fmt.Fprintf(sh.env.Stdout, "Using MongoDB:\t\t%s\n", mongodVersion)
	}
	fmt.Fprintf(sh.env.Stdout, "Using Mongosh:\t\t%s\n\n", mongoshVersion)
}

// errQuit is how quit() stops the runtime.
type errQuit struct{ code int }

// runScripts runs the --eval scripts, then the files, and returns the exit
// status (cli-repl.ts, loadCommandLineFilesAndEval).
func (sh *shell) runScripts() int {
	if err := sh.setUpRuntime(); err != nil {
		sh.env.Errorf("MongoshInternalError: %v", err)
		return 1
	}
	scripts := sh.opts.evals
	if len(scripts) == 0 && len(sh.opts.files) == 0 {
		// No script: the REPL reads standard input until EOF.
		b, _ := io.ReadAll(sh.env.Stdin)
		scripts = []string{string(b)}
	}
	var last goja.Value
	for _, src := range scripts {
		v, code, done := sh.eval("@(shell eval)", src)
		if done {
			return code
		}
		last = v
	}
	if last != nil && !goja.IsUndefined(last) {
		fmt.Fprintln(sh.env.Stdout, inspectTop(last))
	}
	for _, f := range sh.opts.files {
		src, err := os.ReadFile(sh.env.Path(f))
		if err != nil {
			sh.env.Errorf("Error: ENOENT: no such file or directory, open '%s'", f)
			return 1
		}
		if !sh.opts.quiet {
			fmt.Fprintf(sh.env.Stdout, "Loading file: %s\n", f)
		}
		if _, code, done := sh.eval(f, string(src)); done {
			return code
		}
	}
	return 0
}

// eval runs one script; done reports that the process must end with code
// (quit() was called, or an exception escaped).
func (sh *shell) eval(name, src string) (v goja.Value, code int, done bool) {
	v, err := sh.rt.RunScript(name, src)
	if sh.exit != nil {
		return nil, *sh.exit, true
	}
	if err == nil {
		return v, 0, false
	}
	var ex *goja.Exception
	if errors.As(err, &ex) {
		sh.env.Errorf("%s", describeThrown(ex.Value()))
		return nil, 1, true
	}
	var ce *goja.CompilerSyntaxError
	if errors.As(err, &ce) {
		sh.env.Errorf("SyntaxError: %s", ce.Message)
		return nil, 1, true
	}
	sh.env.Errorf("%v", err)
	return nil, 1, true
}

// describeThrown renders an uncaught exception as run.ts does:
// `${e?.name}: ${e?.message}`.
func describeThrown(v goja.Value) string {
	prop := func(name string) string {
		if o, ok := v.(*goja.Object); ok {
			if p := o.Get(name); p != nil && !goja.IsUndefined(p) {
				return p.String()
			}
		}
		return "undefined"
	}
	return prop("name") + ": " + prop("message")
}

// setUpRuntime makes the JavaScript context: the native calls, process.env,
// print and quit, then the shell API prelude and the db global.
func (sh *shell) setUpRuntime() error {
	rt := goja.New()
	sh.rt = rt
	env := rt.NewObject()
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		_ = env.Set(k, v)
	}
	process := rt.NewObject()
	_ = process.Set("env", env)
	_ = process.Set("argv", []any{"mongosh"})
	natives := map[string]any{
		"process":         process,
		"__runCommand":    sh.nativeRunCommand,
		"__auth":          sh.nativeAuth,
		"__objectId":      func() string { return mongoObjectID() },
		"__inspect":       func(v goja.Value) string { return inspect(v, 0) },
		"__write":         func(s string) { fmt.Fprintln(sh.env.Stdout, s) },
		"__quit":          sh.nativeQuit,
		"__sleepMS":       sh.nativeSleep,
		"__connected":     sh.sess != nil,
		"__initialDBName": sh.url.DB,
	}
	for k, v := range natives {
		if err := rt.Set(k, v); err != nil {
			return fmt.Errorf("defining %s: %w", k, err)
		}
	}
	if _, err := rt.RunScript("mongosh-prelude.js", mongoshPrelude); err != nil {
		return fmt.Errorf("shell API: %w", err)
	}
	return nil
}

// nativeRunCommand sends a command; it returns the reply, or an error
// description the prelude throws as MongoServerError / MongoNetworkError.
func (sh *shell) nativeRunCommand(db string, cmd *goja.Object) goja.Value {
	rt := sh.rt
	if sh.sess == nil {
		return rt.ToValue(map[string]any{"__error": map[string]any{"name": "MongoshInvalidInputError", "message": "[SHAPI-10004] No connection: the shell was started with --nodb"}})
	}
	c := MongoCommand{Fields: map[string]any{}}
	for _, k := range cmd.Keys() {
		c.Keys = append(c.Keys, k)
		c.Fields[k] = exportJS(cmd.Get(k))
	}
	reply, err := sh.sess.RunCommand(db, c)
	if err != nil {
		return rt.ToValue(map[string]any{"__error": errorFields(err)})
	}
	return toJS(rt, reply)
}

func errorFields(err error) map[string]any {
	var se *MongoServerError
	if errors.As(err, &se) {
		name := "MongoServerError"
		if se.WriteConcern {
			// The Node driver throws a writeConcernError reply as
			// MongoWriteConcernError, a MongoServerError.
			name = "MongoWriteConcernError"
		}
		return map[string]any{"name": name, "message": se.Message, "code": se.Code, "codeName": se.CodeName}
	}
	return map[string]any{"name": "MongoNetworkError", "message": err.Error()}
}

func (sh *shell) nativeAuth(db, user, pwd string) goja.Value {
	if sh.sess == nil {
		return sh.rt.ToValue(map[string]any{"__error": map[string]any{"name": "MongoshInvalidInputError", "message": "[SHAPI-10004] No connection"}})
	}
	if err := sh.sess.Authenticate(db, user, pwd); err != nil {
		return sh.rt.ToValue(map[string]any{"__error": errorFields(err)})
	}
	return toJS(sh.rt, map[string]any{"ok": 1})
}

func (sh *shell) nativeQuit(code goja.Value) {
	n := 0
	if code != nil && !goja.IsUndefined(code) && !goja.IsNull(code) {
		n = int(code.ToInteger())
	}
	sh.exit = &n
	sh.rt.Interrupt(errQuit{code: n})
}

// nativeSleep is mongosh's sleep(ms), on the node's scaled clock: the
// node's virtual time moves on by the whole seconds slept, as with sleep(1).
func (sh *shell) nativeSleep(ms int64) {
	d := time.Duration(ms) * sh.env.Node.ClockScale / 1000
	if d > 0 && sh.env.Node.ClockURL == "" {
		time.Sleep(d)
	}
	if seconds := int((ms + 999) / 1000); seconds > 0 {
		_ = sh.env.Advance(seconds)
	}
}

// exportJS turns a JavaScript value into plain Go values (maps, slices,
// strings, numbers, booleans, nil).
func exportJS(v goja.Value) any {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	x := v.Export()
	return normalise(x)
}

func normalise(x any) any {
	switch t := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[k] = normalise(v)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			out[i] = normalise(v)
		}
		return out
	case int64:
		return float64(t)
	case time.Time:
		return t.UTC().Format(time.RFC3339Nano)
	}
	return x
}

// toJS turns a Go reply into native JavaScript objects.
func toJS(rt *goja.Runtime, v any) goja.Value {
	switch t := v.(type) {
	case map[string]any:
		o := rt.NewObject()
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			_ = o.Set(k, toJS(rt, t[k]))
		}
		return o
	case []any:
		vals := make([]any, len(t))
		for i, e := range t {
			vals[i] = toJS(rt, e)
		}
		return rt.NewArray(vals...)
	case []map[string]any:
		vals := make([]any, len(t))
		for i, e := range t {
			vals[i] = toJS(rt, e)
		}
		return rt.NewArray(vals...)
	case int:
		return rt.ToValue(float64(t))
	}
	return rt.ToValue(v)
}

// inspectTop renders an evaluation result as mongosh's writer does: strings
// bare, everything else as util.inspect would.
func inspectTop(v goja.Value) string {
	if s, ok := v.Export().(string); ok {
		return s
	}
	return inspect(v, 0)
}

// inspect renders a value like Node's util.inspect (used by print, printjson
// and the result writer): { key: 'value', n: 1 }, broken over lines when
// longer than 72 characters.
func inspect(v goja.Value, depth int) string {
	switch {
	case v == nil || goja.IsUndefined(v):
		return "undefined"
	case goja.IsNull(v):
		return "null"
	}
	o, isObj := v.(*goja.Object)
	if !isObj {
		if s, ok := v.Export().(string); ok {
			return "'" + strings.ReplaceAll(s, "'", "\\'") + "'"
		}
		return v.String()
	}
	switch o.ClassName() {
	case "Function":
		return "[Function: " + o.Get("name").String() + "]"
	case "Error":
		return describeThrown(o)
	case "Date":
		return v.String()
	}
	var items []string
	open, close := "{", "}"
	if o.ClassName() == "Array" {
		open, close = "[", "]"
		n := int(o.Get("length").ToInteger())
		for i := 0; i < n; i++ {
			items = append(items, inspect(o.Get(strconv.Itoa(i)), depth+1))
		}
	} else {
		for _, k := range o.Keys() {
			items = append(items, inspectKey(k)+": "+inspect(o.Get(k), depth+1))
		}
	}
	if len(items) == 0 {
		return open + close
	}
	line := open + " " + strings.Join(items, ", ") + " " + close
	if len(line)+2*depth <= 72 && !strings.Contains(line, "\n") {
		return line
	}
	pad := strings.Repeat("  ", depth+1)
	return open + "\n" + pad + strings.Join(items, ",\n"+pad) + "\n" + strings.Repeat("  ", depth) + close
}

func inspectKey(k string) string {
	for i, r := range k {
		if !(r == '_' || r == '$' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')) {
			return "'" + k + "'"
		}
	}
	if k == "" {
		return "''"
	}
	return k
}

// mongoshPrelude is the shell API, after packages/shell-api/src (database.ts,
// collection.ts, replica-set.ts, shell-api.ts), reduced to what the model
// serves. Methods are synchronous, as mongosh's async rewriter makes them look.
const mongoshPrelude = `
'use strict';
class MongoServerError extends Error {
  constructor(f) { super(f.message); this.name = 'MongoServerError'; this.code = f.code;
    this.codeName = f.codeName; this.errmsg = f.message; this.ok = 0; }
}
class MongoWriteConcernError extends MongoServerError {
  constructor(f) { super(f); this.name = 'MongoWriteConcernError'; }
}
class MongoNetworkError extends Error {
  constructor(f) { super(f.message); this.name = 'MongoNetworkError'; }
}
class MongoshInvalidInputError extends Error {
  constructor(message, code) { super(code ? '[' + code + '] ' + message : message);
    this.name = 'MongoshInvalidInputError'; this.code = code; }
}
function __checked(r) {
  if (r && r.__error) {
    const f = r.__error;
    if (f.name === 'MongoServerError') throw new MongoServerError(f);
    if (f.name === 'MongoWriteConcernError') throw new MongoWriteConcernError(f);
    if (f.name === 'MongoshInvalidInputError') throw new MongoshInvalidInputError(f.message);
    throw new MongoNetworkError(f);
  }
  return r;
}
function assertKeysDefined(object, keys) {
  for (const key of keys) {
    if (object[key] === undefined) {
      throw new MongoshInvalidInputError('Missing required property: ' + JSON.stringify(key), 'COMMON-10001');
    }
  }
}
function ObjectId(hex) { return hex === undefined ? __objectId() : String(hex); }

class Cursor {
  constructor(docs) { this._docs = docs; }
  toArray() { return this._docs.slice(); }
  forEach(f) { this._docs.forEach(f); }
  count() { return this._docs.length; }
  limit(n) { return new Cursor(this._docs.slice(0, n)); }
  next() { return this._docs.shift() || null; }
  hasNext() { return this._docs.length > 0; }
}

class Collection {
  constructor(db, name) { this._db = db; this._name = name; }
  getName() { return this._name; }
  getFullName() { return this._db._name + '.' + this._name; }
  insertOne(doc) {
    const d = Object.assign({}, doc);
    if (d._id === undefined) d._id = ObjectId();
    this._db._cmd({ insert: this._name, documents: [d] });
    return { acknowledged: true, insertedId: d._id };
  }
  insertMany(docs) {
    const ds = docs.map(doc => { const d = Object.assign({}, doc); if (d._id === undefined) d._id = ObjectId(); return d; });
    this._db._cmd({ insert: this._name, documents: ds });
    const ids = {};
    ds.forEach((d, i) => { ids[i] = d._id; });
    return { acknowledged: true, insertedIds: ids };
  }
  find(filter) {
    const r = this._db._cmd({ find: this._name, filter: filter || {} });
    return new Cursor(r.cursor.firstBatch);
  }
  findOne(filter) { const docs = this.find(filter).toArray(); return docs.length ? docs[0] : null; }
  countDocuments(filter) { return this._db._cmd({ count: this._name, query: filter || {} }).n; }
  deleteOne(filter) { return { acknowledged: true, deletedCount: this._db._cmd({ delete: this._name, deletes: [{ q: filter || {}, limit: 1 }] }).n }; }
  deleteMany(filter) { return { acknowledged: true, deletedCount: this._db._cmd({ delete: this._name, deletes: [{ q: filter || {}, limit: 0 }] }).n }; }
}

class Database {
  constructor(name) {
    this._name = name;
    return new Proxy(this, { get(target, prop) {
      if (typeof prop === 'symbol' || prop in target || prop.startsWith('_')) return target[prop];
      return target.getCollection(prop);
    } });
  }
  _cmd(cmd) { return __checked(__runCommand(this._name, cmd)); }
  getName() { return this._name; }
  toString() { return this._name; }
  getSiblingDB(name) { return new Database(name); }
  getCollection(name) { return new Collection(this, name); }
  runCommand(cmd) { if (typeof cmd === 'string') cmd = { [cmd]: 1 }; return this._cmd(cmd); }
  adminCommand(cmd) { if (typeof cmd === 'string') cmd = { [cmd]: 1 }; return new Database('admin')._cmd(cmd); }
  auth(...args) {
    let doc;
    if (args.length === 1 && typeof args[0] === 'object') doc = args[0];
    else if (args.length === 2) doc = { user: args[0], pwd: args[1] };
    else throw new MongoshInvalidInputError('auth expects (username), (username, password), or ({ user: username, pwd: password })', 'COMMON-10001');
    if (!doc.user || !doc.pwd) throw new MongoshInvalidInputError("auth expects user document with at least 'user' and 'pwd' or 'mechanism' fields", 'COMMON-10001');
    return __checked(__auth(this._name, doc.user, doc.pwd));
  }
  logout() { return this._cmd({ logout: 1 }); }
  createUser(user, writeConcern) {
    assertKeysDefined(user, ['user', 'roles']);
    if (this._name === '$external') {
      if ('pwd' in user) throw new MongoshInvalidInputError('Cannot set password for users on the $external database', 'COMMON-10001');
    } else {
      assertKeysDefined(user, ['pwd']);
    }
    if (user.createUser) throw new MongoshInvalidInputError('Cannot set createUser field in helper method', 'COMMON-10001');
    const cmd = { createUser: user.user };
    for (const k of Object.keys(user)) if (k !== 'user' && k !== 'passwordDigestor') cmd[k] = user[k];
    if (writeConcern) cmd.writeConcern = writeConcern;
    return this._cmd(cmd);
  }
  updateUser(username, userDoc, writeConcern) {
    const cmd = { updateUser: username };
    for (const k of Object.keys(userDoc)) if (k !== 'passwordDigestor') cmd[k] = userDoc[k];
    if (writeConcern) cmd.writeConcern = writeConcern;
    return this._cmd(cmd);
  }
  changeUserPassword(username, password) { return this._cmd({ updateUser: username, pwd: password }); }
  grantRolesToUser(username, roles) { return this._cmd({ grantRolesToUser: username, roles: roles }); }
  dropUser(username) { return this._cmd({ dropUser: username }); }
  getUser(username) {
    const r = this._cmd({ usersInfo: { user: username, db: this._name } });
    for (const u of r.users) if (u.user === username) return u;
    return null;
  }
  getUsers() { return this._cmd({ usersInfo: 1 }); }
  serverStatus() { return this.adminCommand({ serverStatus: 1 }); }
  version() { return this.adminCommand({ buildInfo: 1 }).version; }
}

const rs = {
  status() { return new Database('admin')._cmd({ replSetGetStatus: 1 }); },
  conf() { return new Database('admin')._cmd({ replSetGetConfig: 1 }).config; },
  config() { return this.conf(); },
  initiate(config) { return new Database('admin')._cmd({ replSetInitiate: config || {} }); },
  reconfig(config) { return new Database('admin')._cmd({ replSetReconfig: config }); },
  add(host) {
    // mongosh's rs.add: the next _id and version, then replSetReconfig.
    const cfg = this.conf();
    const member = typeof host === 'string' ? { host: host } : Object.assign({}, host);
    member._id = cfg.members.reduce((max, m) => Math.max(max, m._id), -1) + 1;
    cfg.members.push(member);
    cfg.version += 1;
    return this.reconfig(cfg);
  },
};

function print(...args) { __write(args.map(a => typeof a === 'string' ? a : __inspect(a)).join(' ')); }
function printjson(...args) { __write(args.map(a => __inspect(a)).join(' ')); }
function quit(code) { __quit(code); }
function exit(code) { __quit(code); }
function sleep(ms) { __sleepMS(ms); }
var db = __connected ? new Database(__initialDBName) : undefined;
`

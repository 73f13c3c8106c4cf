package sandbox

// The mongod model: configuration, the data directory, the users and their
// roles, and the access rules a command passes before it runs.
//
// Upstream sources it follows (repository mongodb/mongo unless noted):
//   - src/mongo/db/auth/authorization_session_impl.cpp, _getDefaultPrivileges:
//     the localhost exception grants createUser+grantRole on admin, createUser
//     on $external and addShard/replSetConfigure/replSetGetStatus on the cluster.
//   - src/mongo/db/auth/authz_session_external_state_server_common.cpp,
//     _checkShouldAllowLocalhost/shouldAllowLocalhost: the exception holds only
//     while authorization is on, the connection is a localhost one and no user
//     exists; it is re-checked on every request.
//   - src/mongo/db/commands.cpp, checkAuthorizationImplPreParse ("Command <name>
//     requires authentication") and CommandInvocation::checkAuthorization ("not
//     authorized on <db> to execute command { ... }"), both code 13 Unauthorized,
//     with the password redacted (user_management_commands_common.cpp,
//     redactPasswordData: pwd becomes "xxx").
//   - src/mongo/db/auth/user_management_commands_common.cpp,
//     checkAuthorizedToGrantRoles: createUser needs grantRole on the database of
//     every role it grants.
//   - src/mongo/db/commands/user_management_commands.cpp (insertPrivilegeDocument,
//     updatePrivilegeDocument): `User "u@db" already exists` (code 51003
//     Location51003 in current servers, DuplicateKey in 3.x) and `User u@db not
//     found` (11 UserNotFound).
//   - src/mongo/db/repl/replication_coordinator_impl.cpp,
//     checkReplEnabledForCommand: "not running with --replSet" (76
//     NoReplicationEnabled) and "no replset config has been received" (94
//     NotYetInitialized).
//   - src/mongo/util/security_file.cpp, readSecurityFile: "permissions on <file>
//     are too open" for a key file readable by group or others.

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"gopkg.in/yaml.v3"
)

// mongodVersion is the server version the model reports.
const mongodVersion = "8.0.4"

// Error codes of src/mongo/base/error_codes.yml the model returns.
const (
	codeBadValue             = 2
	codeUserNotFound         = 11
	codeUnauthorized         = 13
	codeAuthenticationFailed = 18
	codeRoleNotFound         = 31
	codeCommandNotFound      = 59
	codeNoReplicationEnabled = 76
	codeNotYetInitialized    = 94
	codeAlreadyInitialized   = 23
	codeDuplicateKey         = 11000
	codeUserAlreadyExists    = 51003
)

// codeNames is a read-only table of error_codes.yml names.
var codeNames = map[int]string{
	codeBadValue: "BadValue", codeUserNotFound: "UserNotFound", codeUnauthorized: "Unauthorized",
	codeAuthenticationFailed: "AuthenticationFailed", codeRoleNotFound: "RoleNotFound",
	codeCommandNotFound: "CommandNotFound", codeNoReplicationEnabled: "NoReplicationEnabled",
	codeNotYetInitialized: "NotYetInitialized", codeAlreadyInitialized: "AlreadyInitialized",
	codeDuplicateKey: "DuplicateKey", codeUserAlreadyExists: "Location51003",
}

// MongoServerError is an error reply of the mongod model ({ok: 0, errmsg,
// code, codeName}).
type MongoServerError struct {
	Code     int
	CodeName string
	Message  string
	// WriteConcern marks a writeConcernError: the write was applied but not
	// acknowledged as the write concern asked.
	WriteConcern bool
}

// Error is the server's errmsg.
func (e *MongoServerError) Error() string { return e.Message }

func serverError(code int, format string, args ...any) *MongoServerError {
	return &MongoServerError{Code: code, CodeName: codeNames[code], Message: fmt.Sprintf(format, args...)}
}

// mongoNetworkError is a failure to reach a mongod: nothing listens at the
// address (Refused) or no host answers there at all.
type mongoNetworkError struct {
	Addr    string
	Refused bool
}

func (e *mongoNetworkError) Error() string {
	if e.Refused {
		return "connect ECONNREFUSED " + e.Addr
	}
	return "connect ETIMEDOUT " + e.Addr
}

// ---------------------------------------------------------------------------
// Configuration: /etc/mongod.conf.

// mongodConfig is what mongod takes from its YAML configuration file.
type mongodConfig struct {
	DBPath        string
	LogPath       string
	Port          int
	BindIP        []string
	Authorization bool
	KeyFile       string
	ReplSetName   string
}

// knownOptions are the configuration file options the model accepts; mongod
// refuses any other with "Unrecognized option". storage.journal.enabled is
// deliberately absent: it was removed in MongoDB 6.1 and 7.0+ refuse it.
var knownOptions = []string{
	"storage.dbPath", "storage.directoryPerDB", "storage.engine", "storage.syncPeriodSecs",
	"systemLog.destination", "systemLog.path", "systemLog.logAppend", "systemLog.logRotate",
	"systemLog.verbosity", "systemLog.quiet", "systemLog.timeStampFormat",
	"net.port", "net.bindIp", "net.bindIpAll", "net.ipv6", "net.maxIncomingConnections",
	"net.unixDomainSocket.enabled", "net.unixDomainSocket.pathPrefix", "net.unixDomainSocket.filePermissions",
	"processManagement.timeZoneInfo", "processManagement.fork", "processManagement.pidFilePath",
	"security.authorization", "security.keyFile", "security.clusterAuthMode", "security.javascriptEnabled",
	"replication.replSetName", "replication.oplogSizeMB", "replication.enableMajorityReadConcern",
	"operationProfiling.mode", "operationProfiling.slowOpThresholdMs",
}

// knownSubtrees are option groups accepted as a whole.
var knownSubtrees = []string{"storage.wiredTiger.", "storage.inMemory.", "net.tls.", "net.compression.", "setParameter.", "auditLog."}

func knownOption(key string) bool {
	for _, k := range knownOptions {
		if k == key {
			return true
		}
	}
	for _, p := range knownSubtrees {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// flattenYAML turns nested maps into dotted option names.
func flattenYAML(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok || (prefix != "" && len(m) == 0) {
		out[prefix] = v
		return
	}
	for k, sub := range m {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		flattenYAML(name, sub, out)
	}
}

// parseMongodConfig reads and checks a mongod.conf the way mongod's option
// parser does; e maps the paths it names into the node.
func parseMongodConfig(e *Env, text []byte) (mongodConfig, error) {
	cfg := mongodConfig{DBPath: "/data/db", Port: 27017, BindIP: []string{"127.0.0.1"}}
	var raw map[string]any
	if err := yaml.Unmarshal(text, &raw); err != nil {
		return cfg, fmt.Errorf("Error parsing YAML config file: %v", err)
	}
	opts := map[string]any{}
	flattenYAML("", raw, opts)
	names := make([]string, 0, len(opts))
	for k := range opts {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k != "" && !knownOption(k) {
			return cfg, fmt.Errorf("Unrecognized option: %s", k)
		}
	}
	str := func(k string) (string, bool) {
		v, ok := opts[k]
		if !ok || v == nil {
			return "", false
		}
		return fmt.Sprint(v), true
	}
	if v, ok := str("storage.dbPath"); ok {
		cfg.DBPath = v
	}
	if v, ok := str("systemLog.path"); ok {
		cfg.LogPath = v
	}
	if v, ok := str("net.port"); ok {
		p, err := strconv.Atoi(v)
		if err != nil || p < 0 || p > 65535 {
			return cfg, fmt.Errorf("Error parsing option \"net.port\" as int: %s", v)
		}
		cfg.Port = p
	}
	if v, ok := str("net.bindIp"); ok {
		cfg.BindIP = nil
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				cfg.BindIP = append(cfg.BindIP, a)
			}
		}
	}
	if v, ok := str("net.bindIpAll"); ok && v == "true" {
		if _, both := opts["net.bindIp"]; both {
			return cfg, errors.New("net.bindIp and net.bindIpAll are mutually exclusive")
		}
		cfg.BindIP = []string{"0.0.0.0"}
	}
	if v, ok := str("security.authorization"); ok {
		switch v {
		case "enabled":
			cfg.Authorization = true
		case "disabled":
		default:
			return cfg, fmt.Errorf("Bad value for security.authorization: %q, expected 'enabled' or 'disabled'", v)
		}
	}
	if v, ok := str("security.keyFile"); ok {
		cfg.KeyFile = e.Path(v)
		cfg.Authorization = true // a key file implies access control
	}
	if v, ok := str("replication.replSetName"); ok {
		cfg.ReplSetName = v
	}
	cfg.DBPath = e.Path(cfg.DBPath)
	if cfg.LogPath != "" {
		cfg.LogPath = e.Path(cfg.LogPath)
	}
	return cfg, nil
}

// checkKeyFile applies mongod's key file rules (security_file.cpp,
// readSecurityFile; security_key.cpp): owner-only permissions, 6 to 1024
// base64 characters.
func checkKeyFile(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("Error reading file %s: %v", path, errors.Unwrap(err))
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("permissions on %s are too open", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("Error reading file %s: %w", path, err)
	}
	key := strings.Join(strings.Fields(string(b)), "")
	if len(key) < 6 || len(key) > 1024 {
		return fmt.Errorf("security key in %s has length %d, must be between 6 and 1024 chars", path, len(key))
	}
	for _, c := range key {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", c) {
			return fmt.Errorf("invalid char in key file %s: %q", path, c)
		}
	}
	return nil
}

// checkBindIP refuses addresses the node does not have, as the listener's
// bind() would ("Cannot assign requested address").
func checkBindIP(e *Env, addrs []string) error {
	for _, a := range addrs {
		switch a {
		case "localhost", "127.0.0.1", "::1", "0.0.0.0", "::", e.Node.PrivateIP:
			continue
		}
		if net.ParseIP(a) == nil {
			return fmt.Errorf("Failed to set up listener: SocketException: Host not found (authoritative): %s", a)
		}
		return fmt.Errorf("Failed to set up listener: SocketException: Cannot assign requested address (%s)", a)
	}
	return nil
}

// ---------------------------------------------------------------------------
// Service state: what the running mongod took at start.

// mongodState is the running mongod's view of itself, written at start.
type mongodState struct {
	Running       bool     `json:"running"`
	DataDir       string   `json:"dataDir"` // dbPath resolved when mongod started
	Port          int      `json:"port"`
	BindIP        []string `json:"bindIp"`
	Authorization bool     `json:"authorization"`
	KeyFile       string   `json:"keyFile,omitempty"`
	ReplSetName   string   `json:"replSetName,omitempty"`
	StartedAt     int      `json:"startedAt"`
	// LoadedAt is the world time (mongo_wait.go) when the stored replica set
	// configuration is loaded; 0 without one.
	LoadedAt int `json:"loadedAt,omitempty"`
	// Instance identifies one run of mongod: clients reconnect after a restart.
	Instance string `json:"instance"`
}

// mongodStatePath is where a node keeps its mongod's state.
func mongodStatePath(root string) string {
	return filepath.Join(root, stateDir, "services", "mongod.json")
}

func loadMongodState(root string) (mongodState, error) {
	var st mongodState
	b, err := os.ReadFile(mongodStatePath(root))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("reading mongod state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("parsing mongod state: %w", err)
	}
	return st, nil
}

func saveMongodState(root string, st mongodState) error {
	b, _ := json.MarshalIndent(st, "", "  ")
	return writeFileAtomic(mongodStatePath(root), b)
}

// mongodStart starts mongod.service: it reads /etc/mongod.conf, checks it as
// mongod does at startup and snapshots the data directory it opens.
func mongodStart(e *Env) error {
	text, err := os.ReadFile(e.Path("/etc/mongod.conf"))
	if err != nil {
		return fmt.Errorf("Error reading config file: %v", errors.Unwrap(err))
	}
	cfg, err := parseMongodConfig(e, text)
	if err != nil {
		return err
	}
	if cfg.LogPath != "" {
		if err := appendMongodLog(cfg.LogPath, e.Now(), "mongod starting"); err != nil {
			return err
		}
	}
	if cfg.KeyFile != "" {
		if err := checkKeyFile(cfg.KeyFile); err != nil {
			return err
		}
	}
	dataDir, err := filepath.EvalSymlinks(cfg.DBPath)
	if err != nil || !isDir(dataDir) {
		return fmt.Errorf("Data directory %s not found. Create the missing directory or specify another path using (1) the --dbpath command line option, or (2) by adding the 'storage.dbPath' option in the configuration file.", cfg.DBPath)
	}
	if err := checkBindIP(e, cfg.BindIP); err != nil {
		return err
	}
	if err := initDataDir(dataDir); err != nil {
		return err
	}
	st := mongodState{Running: true, DataDir: dataDir, Port: cfg.Port, BindIP: cfg.BindIP,
		Authorization: cfg.Authorization, KeyFile: cfg.KeyFile, ReplSetName: cfg.ReplSetName, StartedAt: e.Now(), Instance: mongoObjectID(),
		LoadedAt: configLoadedAt(e.WorldDir, dataDir, cfg.ReplSetName)}
	if err := saveMongodState(e.Root, st); err != nil {
		return fmt.Errorf("mongod: %w", err)
	}
	if cfg.LogPath != "" {
		_ = appendMongodLog(cfg.LogPath, e.Now(), fmt.Sprintf("Waiting for connections on %s:%d (authorization %v)", strings.Join(cfg.BindIP, ","), cfg.Port, cfg.Authorization))
	}
	return nil
}

// mongodStop stops mongod.service (a clean shutdown).
func mongodStop(e *Env) error {
	st, err := loadMongodState(e.Root)
	if err != nil {
		return err
	}
	if !st.Running {
		return nil
	}
	st.Running = false
	if err := os.WriteFile(filepath.Join(st.DataDir, "mongod.lock"), nil, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("mongod shutdown: %w", err)
	}
	return saveMongodState(e.Root, st)
}

func appendMongodLog(path string, clock int, msg string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("Failed to open %s: %v", path, errors.Unwrap(err))
	}
	defer f.Close()
	line, _ := json.Marshal(map[string]any{"t": clock, "s": "I", "c": "CONTROL", "msg": msg})
	_, err = f.Write(append(line, '\n'))
	return err
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// ---------------------------------------------------------------------------
// The data directory.

// dataDir is a directory mongod stores its databases in: one JSON file per
// collection (<db>.<coll>.json), users in admin.system.users.json.
type dataDir string

// initDataDir lays out what mongod writes into a data directory it opens.
func initDataDir(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "mongod.lock"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		return fmt.Errorf("Unable to create/open the lock file: %s/mongod.lock: %v", dir, errors.Unwrap(err))
	}
	marker := filepath.Join(dir, "WiredTiger")
	if _, err := os.Stat(marker); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(marker, []byte("WiredTiger\nWiredTiger 11.3.0 (sandbox model)\n"), 0o600); err != nil {
			return fmt.Errorf("initialising data directory: %w", err)
		}
	}
	return nil
}

// locked runs fn while holding the data directory's lock, shared or not.
func (d dataDir) locked(exclusive bool, fn func() error) error {
	f, err := os.OpenFile(filepath.Join(string(d), ".sandbox.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("locking data directory: %w", err)
	}
	defer f.Close()
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		return fmt.Errorf("locking data directory: %w", err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN) //nolint:errcheck
	return fn()
}

func (d dataDir) collectionPath(db, coll string) string {
	return filepath.Join(string(d), db+"."+coll+".json")
}

// readDocs reads a collection; a missing one is empty.
func (d dataDir) readDocs(db, coll string, into any) error {
	b, err := os.ReadFile(d.collectionPath(db, coll))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s.%s: %w", db, coll, err)
	}
	if err := json.Unmarshal(b, into); err != nil {
		return fmt.Errorf("parsing %s.%s: %w", db, coll, err)
	}
	return nil
}

func (d dataDir) writeDocs(db, coll string, docs any) error {
	b, err := json.MarshalIndent(docs, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s.%s: %w", db, coll, err)
	}
	return writeFileAtomic(d.collectionPath(db, coll), b)
}

func (d dataDir) users() ([]mongoUser, error) {
	var us []mongoUser
	err := d.readDocs("admin", "system.users", &us)
	return us, err
}

func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// ---------------------------------------------------------------------------
// Users, credentials and roles.

// mongoUser is a document of admin.system.users.
type mongoUser struct {
	ID          string          `json:"_id"` // "<db>.<user>"
	User        string          `json:"user"`
	DB          string          `json:"db"`
	Credentials scramCredential `json:"credentials"`
	Roles       []roleRef       `json:"roles"`
}

// scramCredential is a SCRAM-SHA-256 credential as mongod stores it
// (src/mongo/crypto/mechanism_scram.h): salt, iteration count, StoredKey and
// ServerKey; never the password.
type scramCredential struct {
	IterationCount int    `json:"iterationCount"`
	Salt           string `json:"salt"`
	StoredKey      string `json:"storedKey"`
	ServerKey      string `json:"serverKey"`
}

// scramIterations is mongod's default scramSHA256IterationCount.
const scramIterations = 15000

func scramKeys(password string, salt []byte, iter int) (stored, server []byte) {
	salted, _ := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	sum := sha256.Sum256(clientKey)
	return sum[:], mac(salted, "Server Key")
}

func newScramCredential(password string) scramCredential {
	salt := make([]byte, 28)
	_, _ = rand.Read(salt)
	stored, server := scramKeys(password, salt, scramIterations)
	enc := base64.StdEncoding.EncodeToString
	return scramCredential{IterationCount: scramIterations, Salt: enc(salt), StoredKey: enc(stored), ServerKey: enc(server)}
}

// verify checks a password the way a SCRAM conversation proves it: the
// client key derived from it must hash to StoredKey.
func (c scramCredential) verify(password string) bool {
	salt, err := base64.StdEncoding.DecodeString(c.Salt)
	if err != nil {
		return false
	}
	stored, _ := scramKeys(password, salt, c.IterationCount)
	return hmac.Equal([]byte(base64.StdEncoding.EncodeToString(stored)), []byte(c.StoredKey))
}

// roleRef names a role: built-in roles exist per database, the AnyDatabase
// and cluster roles only in admin (src/mongo/db/auth/builtin_roles.cpp).
type roleRef struct {
	Role string `json:"role"`
	DB   string `json:"db"`
}

// resource is what a privilege applies to: the cluster, a database (Coll
// empty) or a collection.
type resource struct {
	Cluster  bool
	DB, Coll string
}

// privilege is an action on a resource (src/mongo/db/auth/privilege.h).
type privilege struct {
	Res    resource
	Action string
}

var (
	readActions      = []string{"find", "listCollections", "listIndexes", "collStats", "dbStats"}
	writeActions     = []string{"insert", "update", "remove", "createCollection", "createIndex", "dropCollection"}
	userAdminActions = []string{"createUser", "dropUser", "changePassword", "changeCustomData", "grantRole",
		"revokeRole", "viewUser", "createRole", "dropRole", "viewRole"}
	dbAdminActions = []string{"collMod", "createCollection", "createIndex", "dropCollection", "dropDatabase",
		"dbStats", "collStats", "listCollections", "listIndexes", "dropIndex"}
	clusterMonitorActions = []string{"serverStatus", "replSetGetStatus", "replSetGetConfig", "getCmdLineOpts",
		"listDatabases", "hostInfo", "connPoolStats", "getLog"}
	clusterAdminActions = append([]string{"replSetConfigure", "shutdown", "addShard", "replSetStateChange"}, clusterMonitorActions...)
)

// builtinRole describes what a built-in role grants: actions on its own
// database, on every database, and on the cluster.
type builtinRole struct {
	adminOnly   bool
	onDB, anyDB []string
	cluster     []string
}

// builtinRoles is the read-only table of built-in roles the model knows.
var builtinRoles = map[string]builtinRole{
	"read":                 {onDB: readActions},
	"readWrite":            {onDB: append(append([]string{}, readActions...), writeActions...)},
	"dbAdmin":              {onDB: dbAdminActions},
	"userAdmin":            {onDB: userAdminActions},
	"dbOwner":              {onDB: concat(readActions, writeActions, dbAdminActions, userAdminActions)},
	"readAnyDatabase":      {adminOnly: true, anyDB: readActions, cluster: []string{"listDatabases"}},
	"readWriteAnyDatabase": {adminOnly: true, anyDB: concat(readActions, writeActions), cluster: []string{"listDatabases"}},
	"userAdminAnyDatabase": {adminOnly: true, anyDB: userAdminActions, cluster: []string{"listDatabases", "invalidateUserCache"}},
	"dbAdminAnyDatabase":   {adminOnly: true, anyDB: dbAdminActions, cluster: []string{"listDatabases"}},
	"clusterMonitor":       {adminOnly: true, cluster: clusterMonitorActions},
	"clusterAdmin":         {adminOnly: true, cluster: clusterAdminActions},
	"root":                 {adminOnly: true}, // every action on every resource
}

func concat(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// roleExists reports whether a built-in role of that name exists in db.
func roleExists(r roleRef) bool {
	b, ok := builtinRoles[r.Role]
	if !ok {
		return false
	}
	return !b.adminOnly || r.DB == "admin"
}

// allows reports whether the role grants p.
func (r roleRef) allows(p privilege) bool {
	if r.Role == "root" && r.DB == "admin" {
		return true
	}
	b, ok := builtinRoles[r.Role]
	if !ok || !roleExists(r) {
		return false
	}
	if p.Res.Cluster {
		return contains(b.cluster, p.Action)
	}
	// The AnyDatabase roles cover every database but local and config.
	if contains(b.anyDB, p.Action) && p.Res.DB != "local" && p.Res.DB != "config" {
		return true
	}
	return p.Res.DB == r.DB && contains(b.onDB, p.Action)
}

// localhostPrivileges are the privileges of the localhost exception
// (authorization_session_impl.cpp, _getDefaultPrivileges).
func localhostAllows(p privilege) bool {
	switch {
	case p.Res.Cluster:
		return contains([]string{"addShard", "replSetConfigure", "replSetGetStatus", "issueDirectShardOperations"}, p.Action)
	case p.Res.DB == "admin" && p.Res.Coll == "":
		return p.Action == "createUser" || p.Action == "grantRole"
	case p.Res.DB == "$external" && p.Res.Coll == "":
		return p.Action == "createUser"
	}
	return false
}

func (u *mongoUser) allows(p privilege) bool {
	for _, r := range u.Roles {
		if r.allows(p) {
			return true
		}
	}
	return false
}

// ---------------------------------------------------------------------------
// Connections.

// mongoSession is one client connection to a mongod: where it arrived (a
// loopback connection or not) and who authenticated on it.
type mongoSession struct {
	world string // the world's directory
	root  string // node root of the server
	state mongodState
	addr  string // host:port the client connected to
	local bool   // arrived on a loopback address
	// authUser is "<db>.<user>" once authenticated.
	authUser string
}

// mongoTarget is a server address as a client names it.
type mongoTarget struct {
	Host string
	Port int
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// connectMongo opens a connection from the node at clientRoot (empty for a
// client outside any node) to t. It fails as TCP would: no host at that
// address (timeout), or a host where no mongod listens on that address and
// port (refused).
func connectMongo(worldDir, clientRoot string, t mongoTarget) (*mongoSession, error) {
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	root := clientRoot
	if !isLoopback(t.Host) {
		r, ok := nodeRootByIP(worldDir, t.Host)
		if !ok {
			return nil, &mongoNetworkError{Addr: addr}
		}
		root = r
	}
	if root == "" {
		return nil, &mongoNetworkError{Addr: addr}
	}
	st, err := loadMongodState(root)
	if err != nil {
		return nil, err
	}
	if !st.Running || st.Port != t.Port || !listensOn(st.BindIP, t.Host) {
		return nil, &mongoNetworkError{Addr: addr, Refused: true}
	}
	return &mongoSession{world: worldDir, root: root, state: st, addr: addr, local: isLoopback(t.Host)}, nil
}

// listensOn reports whether a mongod bound to bindIP accepts connections
// addressed to host.
func listensOn(bindIP []string, host string) bool {
	for _, b := range bindIP {
		switch {
		case b == "0.0.0.0" || b == "::":
			return true
		case isLoopback(host) && (b == "localhost" || isLoopback(b)):
			return true
		case b == host:
			return true
		}
	}
	return false
}

// alive re-checks, before each request, that the mongod the session reached
// still runs. Its data directory may have moved aside under a mount since
// (system.go's moveOpenPaths rewrites the state): the session follows it.
func (s *mongoSession) alive() error {
	st, err := loadMongodState(s.root)
	if err != nil {
		return err
	}
	if !st.Running || st.Instance != s.state.Instance {
		return &mongoNetworkError{Addr: s.addr, Refused: true}
	}
	s.state = st
	return nil
}

func (s *mongoSession) data() dataDir { return dataDir(s.state.DataDir) }

// authenticate proves a user's password (SCRAM-SHA-256 against the stored
// credential). Any failure is "Authentication failed.", code 18, whether the
// user exists or not (AuthorizationManager::authenticationFailedStatus).
func (s *mongoSession) authenticate(db, user, password string) error {
	if err := s.alive(); err != nil {
		return err
	}
	var ok bool
	err := s.data().locked(false, func() error {
		us, err := s.data().users()
		for _, u := range us {
			if u.DB == db && u.User == user && u.Credentials.verify(password) {
				ok = true
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if !ok {
		return serverError(codeAuthenticationFailed, "Authentication failed.")
	}
	s.authUser = db + "." + user
	return nil
}

// ---------------------------------------------------------------------------
// Commands.

// mongoCommand is a command document: its fields in order, the first naming
// the command.
type mongoCommand struct {
	Keys   []string
	Fields map[string]any
}

func (c mongoCommand) name() string { return c.Keys[0] }

func (c mongoCommand) str(k string) string {
	s, _ := c.Fields[k].(string)
	return s
}

// commandSpec is how mongod runs one command: whether it needs an
// authenticated user, the privileges it needs and what it does.
type commandSpec struct {
	noAuth bool
	privs  func(s *mongoSession, db string, c mongoCommand) ([]privilege, error)
	run    func(s *mongoSession, db string, c mongoCommand) (map[string]any, error)
}

func commandTable() map[string]commandSpec {
	ok := func(*mongoSession, string, mongoCommand) (map[string]any, error) {
		return map[string]any{"ok": 1}, nil
	}
	hello := commandSpec{noAuth: true, run: runHello}
	cluster := func(action string) func(*mongoSession, string, mongoCommand) ([]privilege, error) {
		return func(*mongoSession, string, mongoCommand) ([]privilege, error) {
			return []privilege{{Res: resource{Cluster: true}, Action: action}}, nil
		}
	}
	onColl := func(action string) func(*mongoSession, string, mongoCommand) ([]privilege, error) {
		return func(_ *mongoSession, db string, c mongoCommand) ([]privilege, error) {
			return []privilege{{Res: resource{DB: db, Coll: c.str(c.name())}, Action: action}}, nil
		}
	}
	return map[string]commandSpec{
		"ping":             {noAuth: true, run: ok},
		"hello":            hello,
		"isMaster":         hello,
		"ismaster":         hello,
		"buildInfo":        {noAuth: true, run: runBuildInfo},
		"buildinfo":        {noAuth: true, run: runBuildInfo},
		"logout":           {noAuth: true, run: runLogout},
		"connectionStatus": {noAuth: true, run: runConnectionStatus},
		"createUser":       {privs: createUserPrivileges, run: runCreateUser},
		"updateUser":       {privs: updateUserPrivileges, run: runUpdateUser},
		"dropUser":         {privs: userPrivilege("dropUser"), run: runDropUser},
		"usersInfo":        {privs: usersInfoPrivileges, run: runUsersInfo},
		"grantRolesToUser": {privs: grantRolesPrivileges, run: runGrantRolesToUser},
		"insert":           {privs: onColl("insert"), run: runInsert},
		"find":             {privs: onColl("find"), run: runFind},
		"count":            {privs: onColl("find"), run: runCount},
		"delete":           {privs: onColl("remove"), run: runDelete},
		"listDatabases":    {privs: cluster("listDatabases"), run: runListDatabases},
		"serverStatus":     {privs: cluster("serverStatus"), run: runServerStatus},
		"getCmdLineOpts":   {privs: cluster("getCmdLineOpts"), run: runGetCmdLineOpts},
		"replSetGetStatus": {privs: cluster("replSetGetStatus"), run: runReplSetGetStatus},
		"replSetGetConfig": {privs: cluster("replSetGetConfig"), run: runReplSetGetConfig},
		"replSetInitiate":  {privs: cluster("replSetConfigure"), run: runReplSetInitiate},
		"replSetReconfig":  {privs: cluster("replSetConfigure"), run: runReplSetReconfig},
	}
}

// runCommand runs a command as mongod does: check it exists, authorize it,
// run it.
func (s *mongoSession) runCommand(db string, c mongoCommand) (map[string]any, error) {
	if err := s.alive(); err != nil {
		return nil, err
	}
	if len(c.Keys) == 0 {
		return nil, serverError(codeBadValue, "empty command")
	}
	spec, ok := commandTable()[c.name()]
	if !ok {
		return nil, serverError(codeCommandNotFound, "no such command: '%s'", c.name())
	}
	if err := s.authorize(db, c, spec); err != nil {
		return nil, err
	}
	if contains(writeCommands, c.name()) {
		return s.replicated(c.name(), writeConcernOf(c), func() (map[string]any, error) { return spec.run(s, db, c) })
	}
	return spec.run(s, db, c)
}

// authorize applies commands.cpp's checks (see the top of this file).
func (s *mongoSession) authorize(db string, c mongoCommand, spec commandSpec) error {
	if spec.noAuth || !s.state.Authorization {
		return nil
	}
	var users []mongoUser
	if err := s.data().locked(false, func() (err error) { users, err = s.data().users(); return }); err != nil {
		return err
	}
	var user *mongoUser
	for i := range users {
		if users[i].ID == s.authUser {
			user = &users[i]
		}
	}
	if user == nil {
		s.authUser = "" // a dropped user is logged out (_refreshUserInfoAsNeeded)
	}
	bypass := s.local && len(users) == 0
	if !bypass && user == nil {
		return serverError(codeUnauthorized, "Command %s requires authentication", c.name())
	}
	privs, err := spec.privs(s, db, c)
	if err != nil {
		return err
	}
	for _, p := range privs {
		if (bypass && localhostAllows(p)) || (user != nil && user.allows(p)) {
			continue
		}
		return serverError(codeUnauthorized, "not authorized on %s to execute command %s", db, redactedCommand(db, c))
	}
	return nil
}

// redactedCommand renders a command as mongod logs it, password hidden.
func redactedCommand(db string, c mongoCommand) string {
	parts := make([]string, 0, len(c.Keys)+1)
	for _, k := range c.Keys {
		v := c.Fields[k]
		if k == "pwd" {
			v = "xxx"
		}
		parts = append(parts, k+": "+shellJSON(v))
	}
	parts = append(parts, `$db: "`+db+`"`)
	return "{ " + strings.Join(parts, ", ") + " }"
}

// shellJSON renders a value in the relaxed notation of server log messages.
func shellJSON(v any) string {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, k+": "+shellJSON(x[k]))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, shellJSON(e))
		}
		return "[ " + strings.Join(parts, ", ") + " ]"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func runHello(s *mongoSession, _ string, _ mongoCommand) (map[string]any, error) {
	r := map[string]any{"isWritablePrimary": true, "ismaster": true, "maxWireVersion": 25, "minWireVersion": 0, "ok": 1}
	if s.state.ReplSetName != "" {
		if err := s.helloReplication(r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func runBuildInfo(*mongoSession, string, mongoCommand) (map[string]any, error) {
	return map[string]any{"version": mongodVersion, "gitVersion": "sandbox", "modules": []any{}, "ok": 1}, nil
}

func runLogout(s *mongoSession, _ string, _ mongoCommand) (map[string]any, error) {
	s.authUser = ""
	return map[string]any{"ok": 1}, nil
}

func runConnectionStatus(s *mongoSession, _ string, _ mongoCommand) (map[string]any, error) {
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

func createUserPrivileges(_ *mongoSession, db string, c mongoCommand) ([]privilege, error) {
	ps := []privilege{{Res: resource{DB: db}, Action: "createUser"}}
	roles, err := parseRoles(db, c.Fields["roles"])
	if err != nil {
		return nil, err
	}
	return append(ps, grantPrivileges(roles)...), nil
}

func updateUserPrivileges(_ *mongoSession, db string, c mongoCommand) ([]privilege, error) {
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

func grantRolesPrivileges(_ *mongoSession, db string, c mongoCommand) ([]privilege, error) {
	roles, err := parseRoles(db, c.Fields["roles"])
	return grantPrivileges(roles), err
}

func userPrivilege(action string) func(*mongoSession, string, mongoCommand) ([]privilege, error) {
	return func(_ *mongoSession, db string, _ mongoCommand) ([]privilege, error) {
		return []privilege{{Res: resource{DB: db}, Action: action}}, nil
	}
}

// usersInfoPrivileges: viewUser on the database, except that a user may
// always look at itself (checkAuthForUsersInfo).
func usersInfoPrivileges(s *mongoSession, db string, c mongoCommand) ([]privilege, error) {
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

func (c mongoCommand) password() (string, error) {
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

func runCreateUser(s *mongoSession, db string, c mongoCommand) (map[string]any, error) {
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
	u := mongoUser{ID: db + "." + name, User: name, DB: db, Credentials: newScramCredential(pwd), Roles: roles}
	err = s.data().locked(true, func() error {
		us, err := s.data().users()
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
	return map[string]any{"ok": 1}, nil
}

// modifyUser applies fn to the stored user <db>.<name>.
func (s *mongoSession) modifyUser(db, name string, fn func(u *mongoUser, us []mongoUser) []mongoUser) error {
	return s.data().locked(true, func() error {
		us, err := s.data().users()
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

func runUpdateUser(s *mongoSession, db string, c mongoCommand) (map[string]any, error) {
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
	err := s.modifyUser(db, name, func(u *mongoUser, us []mongoUser) []mongoUser {
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

func runGrantRolesToUser(s *mongoSession, db string, c mongoCommand) (map[string]any, error) {
	roles, err := parseRoles(db, c.Fields["roles"])
	if err != nil {
		return nil, err
	}
	if err := checkRolesExist(roles); err != nil {
		return nil, err
	}
	err = s.modifyUser(db, c.str("grantRolesToUser"), func(u *mongoUser, us []mongoUser) []mongoUser {
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

func runDropUser(s *mongoSession, db string, c mongoCommand) (map[string]any, error) {
	name := c.str("dropUser")
	err := s.modifyUser(db, name, func(u *mongoUser, us []mongoUser) []mongoUser {
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

func runUsersInfo(s *mongoSession, db string, c mongoCommand) (map[string]any, error) {
	names, all := usersInfoTargets(db, c.Fields["usersInfo"])
	var us []mongoUser
	if err := s.data().locked(false, func() (err error) { us, err = s.data().users(); return }); err != nil {
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
	err := s.data().locked(true, func() error {
		var existing []map[string]any
		if err := s.data().readDocs(db, coll, &existing); err != nil {
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
	err := s.data().locked(false, func() error { return s.data().readDocs(db, coll, &docs) })
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

func runInsert(s *mongoSession, db string, c mongoCommand) (map[string]any, error) {
	n, err := s.insertDocs(db, c.str("insert"), asDocs(c.Fields["documents"]), "")
	if err != nil {
		return nil, err
	}
	return map[string]any{"n": n, "ok": 1}, nil
}

func runFind(s *mongoSession, db string, c mongoCommand) (map[string]any, error) {
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

func runCount(s *mongoSession, db string, c mongoCommand) (map[string]any, error) {
	filter, _ := c.Fields["query"].(map[string]any)
	docs, err := s.findDocs(db, c.str("count"), filter)
	if err != nil {
		return nil, err
	}
	return map[string]any{"n": len(docs), "ok": 1}, nil
}

func runDelete(s *mongoSession, db string, c mongoCommand) (map[string]any, error) {
	coll := c.str("delete")
	n := 0
	err := s.data().locked(true, func() error {
		var docs []map[string]any
		if err := s.data().readDocs(db, coll, &docs); err != nil {
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

func runListDatabases(s *mongoSession, _ string, _ mongoCommand) (map[string]any, error) {
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

func runServerStatus(s *mongoSession, _ string, _ mongoCommand) (map[string]any, error) {
	return map[string]any{"host": s.addr, "version": mongodVersion, "process": "mongod", "ok": 1}, nil
}

func runGetCmdLineOpts(s *mongoSession, _ string, _ mongoCommand) (map[string]any, error) {
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
	if err := s.data().locked(false, func() error { return s.data().readDocs("local", "system.replset", &cfgs) }); err != nil {
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

func runReplSetGetConfig(s *mongoSession, _ string, _ mongoCommand) (map[string]any, error) {
	cfg, err := s.replEnabled()
	if err != nil {
		return nil, err
	}
	return map[string]any{"config": cfg, "ok": 1}, nil
}

// ---------------------------------------------------------------------------
// Clients: the connection string, the in-process driver and the test probes.

// mongoURL is a parsed mongodb:// connection string (MongoDB "Connection
// String URI Format"): credentials are percent-decoded, authSource defaults
// to the path's database, then admin.
type mongoURL struct {
	User, Password string
	HasCredentials bool
	Hosts          []mongoTarget
	DB             string
	AuthSource     string
	ReplicaSet     string
}

func parseMongoURL(raw string) (mongoURL, error) {
	var u mongoURL
	rest, ok := strings.CutPrefix(raw, "mongodb://")
	if !ok {
		return u, fmt.Errorf("invalid connection string %q: the scheme must be mongodb://", raw)
	}
	rest, query, _ := strings.Cut(rest, "?")
	hostPart, path, _ := strings.Cut(rest, "/")
	if at := strings.LastIndex(hostPart, "@"); at >= 0 {
		user, pass, _ := strings.Cut(hostPart[:at], ":")
		var err error
		if u.User, err = urlUnescape(user); err != nil {
			return u, fmt.Errorf("invalid user name in connection string: %w", err)
		}
		if u.Password, err = urlUnescape(pass); err != nil {
			return u, fmt.Errorf("invalid password in connection string: %w", err)
		}
		u.HasCredentials = true
		hostPart = hostPart[at+1:]
	}
	for _, h := range strings.Split(hostPart, ",") {
		t, err := parseHostPort(h)
		if err != nil {
			return u, err
		}
		u.Hosts = append(u.Hosts, t)
	}
	u.DB, _ = urlUnescape(path)
	params, err := parseQuery(query)
	if err != nil {
		return u, err
	}
	u.ReplicaSet = params["replicaSet"]
	u.AuthSource = params["authSource"]
	if u.AuthSource == "" {
		u.AuthSource = u.DB
	}
	if u.AuthSource == "" {
		u.AuthSource = "admin"
	}
	return u, nil
}

// multiple reports whether the Java driver connects in MULTIPLE mode:
// several hosts or a replicaSet option (mongo-java-driver,
// ClusterSettings.Builder.applyConnectionString).
func (u mongoURL) multiple() bool { return len(u.Hosts) > 1 || u.ReplicaSet != "" }

func parseQuery(q string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range strings.Split(q, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		val, err := urlUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("invalid connection string option %s: %w", k, err)
		}
		out[k] = val
	}
	return out, nil
}

// urlUnescape percent-decodes; unlike form decoding, '+' stays a plus.
func urlUnescape(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

func parseHostPort(h string) (mongoTarget, error) {
	if h == "" {
		return mongoTarget{}, errors.New("invalid connection string: empty host")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		return mongoTarget{Host: strings.Trim(h, "[]"), Port: 27017}, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return mongoTarget{}, fmt.Errorf("invalid connection string: bad port in %q", h)
	}
	return mongoTarget{Host: host, Port: p}, nil
}

// MongoDriverError is a failure as the MongoDB Java driver reports it: the
// exception class and its message (com.mongodb.MongoTimeoutException,
// MongoSecurityException, MongoCommandException, MongoWriteException). A
// server reply, when there is one, is the wrapped MongoServerError.
type MongoDriverError struct {
	Exception string
	Message   string
	Server    *MongoServerError
}

// Error is the exception as Java prints it: "<class>: <message>".
func (e *MongoDriverError) Error() string { return e.Exception + ": " + e.Message }

// Unwrap gives the server's error reply, if any.
func (e *MongoDriverError) Unwrap() error {
	if e.Server == nil {
		return nil
	}
	return e.Server
}

// timeoutError is the driver's server selection timeout (30 s by default).
func timeoutError(u mongoURL, cause error) *MongoDriverError {
	servers := make([]string, 0, len(u.Hosts))
	why := "java.net.SocketTimeoutException: Connect timed out"
	var ne *mongoNetworkError
	if errors.As(cause, &ne) && ne.Refused {
		why = "java.net.ConnectException: Connection refused"
	}
	for _, h := range u.Hosts {
		servers = append(servers, fmt.Sprintf("{address=%s:%d, type=UNKNOWN, state=CONNECTING, exception={com.mongodb.MongoSocketOpenException: Exception opening socket}, caused by {%s}}", h.Host, h.Port, why))
	}
	msg := "Timed out after 30000 ms while waiting to connect"
	cluster := "UNKNOWN"
	if u.multiple() {
		msg = "Timed out after 30000 ms while waiting for a server that matches ReadPreferenceServerSelector{readPreference=primary}"
	}
	if u.ReplicaSet != "" {
		cluster = "REPLICA_SET"
	}
	return &MongoDriverError{Exception: "com.mongodb.MongoTimeoutException",
		Message: fmt.Sprintf("%s. Client view of cluster state is {type=%s, servers=[%s]", msg, cluster, strings.Join(servers, ", "))}
}

// MongoConn is a client connection to the mongod model, as the Ant Media
// Server's Java driver holds one: it reconnects and re-authenticates when
// mongod restarts.
type MongoConn struct {
	worldDir, clientRoot string
	url                  mongoURL

	mu sync.Mutex // one request at a time, like one pooled connection
	s  *mongoSession
}

// dialMongo connects, from the node at fromIP, to the mongod a mongodb:// URL
// names, and authenticates when the URL carries credentials.
func dialMongo(worldDir, rawURL, fromIP string) (*MongoConn, error) {
	u, err := parseMongoURL(rawURL)
	if err != nil {
		return nil, &MongoDriverError{Exception: "java.lang.IllegalArgumentException", Message: err.Error()}
	}
	clientRoot, _ := nodeRootByIP(worldDir, fromIP)
	c := &MongoConn{worldDir: worldDir, clientRoot: clientRoot, url: u}
	if err := c.connect(); err != nil {
		return nil, err
	}
	return c, nil
}

// connect selects a server and authenticates on it, as the Java driver's
// cluster settings decide (mongo-java-driver, ClusterSettings.Builder.
// applyConnectionString): one host and no replicaSet is a direct (SINGLE)
// connection to that server; several hosts or replicaSet is MULTIPLE, where
// the driver learns the set from the members that answer
// (AbstractMultiServerCluster: a standalone among several hosts is dropped,
// a member with no configuration, REPLICA_SET_GHOST, decides nothing) and
// writes go to the set's primary.
func (c *MongoConn) connect() error {
	var last error
	for _, h := range c.url.Hosts {
		s, err := connectMongo(c.worldDir, c.clientRoot, h)
		if err != nil {
			last = err
			continue
		}
		set := c.url.ReplicaSet
		if set == "" {
			set = s.state.ReplSetName
		}
		if c.url.multiple() && (set == "" || !s.isPrimaryOf(set)) {
			last = errors.New("not a primary of the replica set")
			continue
		}
		if c.url.HasCredentials {
			if err := s.authenticate(c.url.AuthSource, c.url.User, c.url.Password); err != nil {
				var se *MongoServerError
				if !errors.As(err, &se) {
					return timeoutError(c.url, err)
				}
				return &MongoDriverError{Exception: "com.mongodb.MongoSecurityException", Server: se,
					Message: fmt.Sprintf("Exception authenticating MongoCredential{mechanism=SCRAM-SHA-256, userName='%s', source='%s', password=<hidden>, mechanismProperties=<hidden>}", c.url.User, c.url.AuthSource)}
			}
		}
		c.s = s
		return nil
	}
	return timeoutError(c.url, last)
}

// run runs a command, reconnecting first when mongod went away.
func (c *MongoConn) run(db string, cmd mongoCommand) (map[string]any, error) {
	if c.s == nil || c.s.alive() != nil {
		if err := c.connect(); err != nil {
			return nil, err
		}
	}
	r, err := c.s.runCommand(db, cmd)
	var se *MongoServerError
	if errors.As(err, &se) {
		return nil, &MongoDriverError{Exception: "com.mongodb.MongoCommandException", Server: se,
			Message: fmt.Sprintf("Command failed with error %d (%s): '%s' on server %s. The full response is {\"ok\": 0.0, \"errmsg\": %q, \"code\": %d, \"codeName\": %q}",
				se.Code, se.CodeName, se.Message, c.s.addr, se.Message, se.Code, se.CodeName)}
	}
	if err != nil {
		return nil, timeoutError(c.url, err)
	}
	return r, nil
}

// Find returns all documents of a collection.
func (c *MongoConn) Find(db, coll string) ([]map[string]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.run(db, mongoCommand{Keys: []string{"find", "filter"}, Fields: map[string]any{"find": coll, "filter": map[string]any{}}})
	if err != nil {
		return nil, err
	}
	cursor, _ := r["cursor"].(map[string]any)
	return asDocs(cursor["firstBatch"]), nil
}

// InsertUnique inserts doc unless a document with the same value of key
// exists, which fails with the E11000 duplicate key error of a unique index.
func (c *MongoConn) InsertUnique(db, coll string, doc map[string]any, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := make(map[string]any, len(doc)+1)
	for k, v := range doc {
		d[k] = v
	}
	// Authorization as for an insert command; the write itself holds the
	// data directory lock, so two clients cannot both insert the same key.
	cmd := mongoCommand{Keys: []string{"insert", "documents"}, Fields: map[string]any{"insert": coll, "documents": []any{d}}}
	insert := func() error {
		if _, err := c.authorizedSession(db, cmd); err != nil {
			return err
		}
		// The Java driver sends no writeConcern: the server's implicit
		// default {w: "majority"} applies.
		_, err := c.s.replicated("insert", writeConcern{majority: true}, func() (map[string]any, error) {
			_, err := c.s.insertDocs(db, coll, []map[string]any{d}, key)
			return nil, err
		})
		return err
	}
	err := insert()
	var se *MongoServerError
	if errors.As(err, &se) && se.Code == codeNotWritablePrimary && c.url.multiple() {
		// The primary changed: the driver selects the new one and retries
		// the write once (retryable writes).
		c.s = nil
		err = insert()
	}
	if errors.As(err, &se) && se.WriteConcern {
		return &MongoDriverError{Exception: "com.mongodb.MongoWriteConcernException", Server: se,
			Message: fmt.Sprintf("Write Concern error on server %s. Write concern error: WriteConcernError{code=%d, codeName='%s', message='%s'}.", c.s.addr, se.Code, se.CodeName, se.Message)}
	}
	if errors.As(err, &se) {
		return &MongoDriverError{Exception: "com.mongodb.MongoWriteException", Server: se,
			Message: fmt.Sprintf("Write operation error on server %s. Write error: WriteError{code=%d, message='%s', details={}}.", c.s.addr, se.Code, se.Message)}
	}
	return err
}

// authorizedSession checks that cmd would be allowed, reconnecting if needed.
func (c *MongoConn) authorizedSession(db string, cmd mongoCommand) (*mongoSession, error) {
	if c.s == nil || c.s.alive() != nil {
		if err := c.connect(); err != nil {
			return nil, err
		}
	}
	spec := commandTable()[cmd.name()]
	if err := c.s.authorize(db, cmd, spec); err != nil {
		var se *MongoServerError
		errors.As(err, &se)
		return nil, &MongoDriverError{Exception: "com.mongodb.MongoCommandException", Server: se,
			Message: fmt.Sprintf("Command failed with error %d (%s): '%s' on server %s.", se.Code, se.CodeName, se.Message, c.s.addr)}
	}
	return c.s, nil
}

// Close closes the connection.
func (c *MongoConn) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.s = nil
}

// MongoStatus is what a node's mongod is doing now.
type MongoStatus struct {
	Running       bool
	Authorization bool
	BindIP        []string
	Port          int
	// DataDir is the directory the running mongod uses (resolved at start).
	DataDir     string
	ReplSetName string
}

// MongoStatus reports the node's mongod as it runs now.
func (n *Node) MongoStatus() MongoStatus {
	st, err := loadMongodState(n.root)
	if err != nil || !st.Running {
		return MongoStatus{}
	}
	return MongoStatus{Running: true, Authorization: st.Authorization, BindIP: st.BindIP, Port: st.Port, DataDir: st.DataDir, ReplSetName: st.ReplSetName}
}

// MongoUsers lists the "<db>.<user>" names stored in the data directory the
// running mongod uses or, when it is stopped, where dbPath resolves now.
func (n *Node) MongoUsers() ([]string, error) {
	dir := n.MongoStatus().DataDir
	if dir == "" {
		e := n.env()
		text, err := os.ReadFile(e.Path("/etc/mongod.conf"))
		if err != nil {
			return nil, fmt.Errorf("mongod is stopped and has no configuration: %w", err)
		}
		cfg, err := parseMongodConfig(e, text)
		if err != nil {
			return nil, err
		}
		if dir, err = filepath.EvalSymlinks(cfg.DBPath); err != nil {
			return nil, fmt.Errorf("resolving dbPath: %w", err)
		}
	}
	var us []mongoUser
	if err := dataDir(dir).locked(false, func() (err error) { us, err = dataDir(dir).users(); return }); err != nil {
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
	s, err := connectMongo(n.w.dir, "", mongoTarget{Host: n.PrivateIP, Port: port})
	if err != nil {
		return false
	}
	db := "admin"
	if d, u, ok := strings.Cut(user, "."); ok {
		db, user = d, u
	}
	return s.authenticate(db, user, password) == nil
}

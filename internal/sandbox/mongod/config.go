package mongod

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"gopkg.in/yaml.v3"
)

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

// ParseMongodConfig reads and checks a mongod.conf the way mongod's option
// parser does; e maps the paths it names into the node.
func ParseMongodConfig(e *machine.Env, text []byte) (mongodConfig, error) {
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
func checkBindIP(e *machine.Env, addrs []string) error {
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

package mongod

import (
	"encoding/json"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

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

// MongoTarget is a server address as a client names it.
type MongoTarget struct {
	Host string
	Port int
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "::1" || strings.HasPrefix(host, "127.")
}

// ConnectMongo opens a connection from the node at clientRoot (empty for a
// client outside any node) to t. It fails as TCP would: no host at that
// address (timeout), or a host where no mongod listens on that address and
// port (refused).
func ConnectMongo(worldDir, clientRoot string, t MongoTarget) (*mongoSession, error) {
	addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
	root := clientRoot
	if !isLoopback(t.Host) {
		r, ok := machine.NodeRootByIP(worldDir, t.Host)
		if !ok {
			return nil, &mongoNetworkError{Addr: addr}
		}
		root = r
	}
	if root == "" {
		return nil, &mongoNetworkError{Addr: addr}
	}
	st, err := LoadMongodState(root)
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
	st, err := LoadMongodState(s.root)
	if err != nil {
		return err
	}
	if !st.Running || st.Instance != s.state.Instance {
		return &mongoNetworkError{Addr: s.addr, Refused: true}
	}
	s.state = st
	return nil
}

func (s *mongoSession) data() DataDir { return DataDir(s.state.DataDir) }

// Authenticate proves a user's password (SCRAM-SHA-256 against the stored
// credential). Any failure is "Authentication failed.", code 18, whether the
// user exists or not (AuthorizationManager::authenticationFailedStatus).
func (s *mongoSession) Authenticate(db, user, password string) error {
	if err := s.alive(); err != nil {
		return err
	}
	var ok bool
	err := s.data().Locked(false, func() error {
		us, err := s.data().Users()
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

// MongoCommand is a command document: its fields in order, the first naming
// the command.
type MongoCommand struct {
	Keys   []string
	Fields map[string]any
}

// Name is the command's name, its first key.
func (c MongoCommand) Name() string { return c.Keys[0] }

func (c MongoCommand) str(k string) string {
	s, _ := c.Fields[k].(string)
	return s
}

// commandSpec is how mongod runs one command: whether it needs an
// authenticated user, the privileges it needs and what it does.
type commandSpec struct {
	noAuth bool
	privs  func(s *mongoSession, db string, c MongoCommand) ([]privilege, error)
	run    func(s *mongoSession, db string, c MongoCommand) (map[string]any, error)
}

func commandTable() map[string]commandSpec {
	ok := func(*mongoSession, string, MongoCommand) (map[string]any, error) {
		return map[string]any{"ok": 1}, nil
	}
	hello := commandSpec{noAuth: true, run: runHello}
	cluster := func(action string) func(*mongoSession, string, MongoCommand) ([]privilege, error) {
		return func(*mongoSession, string, MongoCommand) ([]privilege, error) {
			return []privilege{{Res: resource{Cluster: true}, Action: action}}, nil
		}
	}
	onColl := func(action string) func(*mongoSession, string, MongoCommand) ([]privilege, error) {
		return func(_ *mongoSession, db string, c MongoCommand) ([]privilege, error) {
			return []privilege{{Res: resource{DB: db, Coll: c.str(c.Name())}, Action: action}}, nil
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

// RunCommand runs a command as mongod does: check it exists, authorize it,
// run it.
func (s *mongoSession) RunCommand(db string, c MongoCommand) (map[string]any, error) {
	if err := s.alive(); err != nil {
		return nil, err
	}
	if len(c.Keys) == 0 {
		return nil, serverError(codeBadValue, "empty command")
	}
	spec, ok := commandTable()[c.Name()]
	if !ok {
		return nil, serverError(codeCommandNotFound, "no such command: '%s'", c.Name())
	}
	if err := s.authorize(db, c, spec); err != nil {
		return nil, err
	}
	if contains(writeCommands, c.Name()) {
		return s.replicated(c.Name(), writeConcernOf(c), func() (map[string]any, error) { return spec.run(s, db, c) })
	}
	return spec.run(s, db, c)
}

// authorize applies commands.cpp's checks (see the top of this file).
func (s *mongoSession) authorize(db string, c MongoCommand, spec commandSpec) error {
	if spec.noAuth || !s.state.Authorization {
		return nil
	}
	var users []MongoUser
	if err := s.data().Locked(false, func() (err error) { users, err = s.data().Users(); return }); err != nil {
		return err
	}
	var user *MongoUser
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
		return serverError(codeUnauthorized, "Command %s requires authentication", c.Name())
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
func redactedCommand(db string, c MongoCommand) string {
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

package mongod

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// ---------------------------------------------------------------------------
// Clients: the connection string, the in-process driver and the test probes.

// mongoURL is a parsed mongodb:// connection string (MongoDB "Connection
// String URI Format"): credentials are percent-decoded, authSource defaults
// to the path's database, then admin.
type mongoURL struct {
	User, Password string
	HasCredentials bool
	Hosts          []MongoTarget
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

func parseHostPort(h string) (MongoTarget, error) {
	if h == "" {
		return MongoTarget{}, errors.New("invalid connection string: empty host")
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		return MongoTarget{Host: strings.Trim(h, "[]"), Port: 27017}, nil
	}
	p, err := strconv.Atoi(port)
	if err != nil || p <= 0 || p > 65535 {
		return MongoTarget{}, fmt.Errorf("invalid connection string: bad port in %q", h)
	}
	return MongoTarget{Host: host, Port: p}, nil
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

// DialMongo connects, from the node at fromIP, to the mongod a mongodb:// URL
// names, and authenticates when the URL carries credentials.
func DialMongo(worldDir, rawURL, fromIP string) (*MongoConn, error) {
	u, err := parseMongoURL(rawURL)
	if err != nil {
		return nil, &MongoDriverError{Exception: "java.lang.IllegalArgumentException", Message: err.Error()}
	}
	clientRoot, _ := machine.NodeRootByIP(worldDir, fromIP)
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
		s, err := ConnectMongo(c.worldDir, c.clientRoot, h)
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
			if err := s.Authenticate(c.url.AuthSource, c.url.User, c.url.Password); err != nil {
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

// Run runs a command, reconnecting first when mongod went away.
func (c *MongoConn) Run(db string, cmd MongoCommand) (map[string]any, error) {
	if c.s == nil || c.s.alive() != nil {
		if err := c.connect(); err != nil {
			return nil, err
		}
	}
	r, err := c.s.RunCommand(db, cmd)
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
	r, err := c.Run(db, MongoCommand{Keys: []string{"find", "filter"}, Fields: map[string]any{"find": coll, "filter": map[string]any{}}})
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
	cmd := MongoCommand{Keys: []string{"insert", "documents"}, Fields: map[string]any{"insert": coll, "documents": []any{d}}}
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
func (c *MongoConn) authorizedSession(db string, cmd MongoCommand) (*mongoSession, error) {
	if c.s == nil || c.s.alive() != nil {
		if err := c.connect(); err != nil {
			return nil, err
		}
	}
	spec := commandTable()[cmd.Name()]
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

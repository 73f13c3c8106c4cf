package mongod

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// ---------------------------------------------------------------------------
// Users, credentials and roles.

// MongoUser is a document of admin.system.users.
type MongoUser struct {
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

func (u *MongoUser) allows(p privilege) bool {
	for _, r := range u.Roles {
		if r.allows(p) {
			return true
		}
	}
	return false
}

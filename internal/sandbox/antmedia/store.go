package antmedia

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

// The web panel's user store: MapDB in standalone mode, MongoDB in cluster
// mode (Ant-Media-Server io.antmedia.console.datastore).

// Where the web panel keeps its users.
const (
	// amsUserDB is the MongoDB database and the MapDB map name
	// (AbstractConsoleDataStore.SERVER_STORAGE_MAP_NAME = "serverdb").
	amsUserDB = "serverdb"
	// amsUserCollection is the collection of io.antmedia.datastore.db.types.User
	// (@Entity(value = "user"); its @Index on email is not unique).
	amsUserCollection = "user"
	// amsLocalStore is the MapDB file, relative to the service's working
	// directory /usr/local/antmedia (AbstractConsoleDataStore.SERVER_STORAGE_FILE).
	// The sandbox writes it as JSON.
	amsLocalStore = amsDir + "/server.db"
)

// AMSUser is a web panel user as the store holds it.
type AMSUser struct {
	// Email is the login name.
	Email string
	// Password is what the store holds: the MD5 hex of what was sent.
	Password string
	// UserType is ADMIN, READ_ONLY or USER.
	UserType string
	// Scope is "system" or an application name.
	Scope string
}

// amsUserDoc is a User as MapBasedDataStore (Gson) and Morphia store it.
type amsUserDoc struct {
	ID              string            `json:"_id,omitempty"`
	Email           string            `json:"email"`
	Password        string            `json:"password"`
	UserType        string            `json:"userType,omitempty"`
	Scope           string            `json:"scope,omitempty"`
	AppNameUserType map[string]string `json:"appNameUserType,omitempty"`
}

func (d amsUserDoc) user() AMSUser {
	return AMSUser{Email: d.Email, Password: d.Password, UserType: d.UserType, Scope: d.Scope}
}

// amsMD5 is CommonRestService.getMD5Hash: the lower-case hex MD5 of the
// UTF-8 bytes.
func amsMD5(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// userStore is AbstractConsoleDataStore: each method is one synchronized
// method of the Java store, atomic within one server but not across them.
type userStore interface {
	count() (int, error)
	// add is addUser: it saves u unless a user with its e-mail exists.
	add(u amsUserDoc) (bool, error)
	// exists is doesUserExist: a user with this e-mail and stored password.
	exists(email, password string) (bool, error)
	get(email string) (amsUserDoc, bool, error)
	list() ([]amsUserDoc, error)
}

// errStoreTimeout marks a store the MongoDB driver cannot reach: it gives
// up after serverSelectionTimeoutMS (30 s by default) with a
// com.mongodb.MongoTimeoutException.
var errStoreTimeout = errors.New("server selection timed out")

// storeFor opens the store the server was started with
// (ConsoleDataStoreFactory.getDataStore: db.type mongodb -> MongoStore(db.host),
// mapdb -> MapDBStore, redisdb -> RedisStore, else none).
func storeFor(e *machine.Env, rt amsRuntime) (userStore, error) {
	switch rt.ConsoleDBType {
	case "mapdb":
		return &localUserStore{path: e.Path(amsLocalStore)}, nil
	case "mongodb":
		return &mongoUserStore{worldDir: e.WorldDir, uri: mongoConnectionURI(rt.ConsoleDBHost), fromIP: e.Node.PrivateIP}, nil
	case "redisdb":
		return nil, fmt.Errorf("redis user store at %q: not modelled by the sandbox", rt.ConsoleDBHost)
	default:
		// ConsoleDataStoreFactory logs "Undefined Console Datastore" and returns
		// null: every REST method then fails with a NullPointerException.
		return nil, fmt.Errorf("java.lang.NullPointerException: Undefined Console Datastore:%s", rt.ConsoleDBType)
	}
}

// mongoConnectionURI is io.antmedia.datastore.db.MongoStore.getMongoConnectionUri:
// a mongodb:// or mongodb+srv:// URL is used as is, anything else is taken
// for host[:port] and prefixed with mongodb://.
func mongoConnectionURI(host string) string {
	if strings.HasPrefix(host, "mongodb://") || strings.HasPrefix(host, "mongodb+srv://") {
		return host
	}
	return "mongodb://" + host
}

// serverSelectionTimeout is how long the driver looks for a server before
// it throws: the URL's serverSelectionTimeoutMS, 30 s by default (MongoDB
// Java driver ConnectionString / ClusterSettings).
func serverSelectionTimeout(uri string) time.Duration {
	if u, err := url.Parse(uri); err == nil {
		for k, v := range u.Query() {
			if strings.EqualFold(k, "serverSelectionTimeoutMS") && len(v) > 0 {
				if ms, err := strconv.Atoi(v[0]); err == nil {
					return time.Duration(ms) * time.Millisecond
				}
			}
		}
	}
	return 30 * time.Second
}

// mongoUserStore is io.antmedia.console.datastore.MongoStore: database
// serverdb, collection user, no unique index, addUser checks then saves.
type mongoUserStore struct {
	worldDir, uri, fromIP string
}

func (s *mongoUserStore) docs() ([]amsUserDoc, error) {
	c, err := mongod.DialMongo(s.worldDir, s.uri, s.fromIP)
	if err != nil {
		return nil, mongoStoreError(err)
	}
	if c == nil {
		return nil, nil // the MongoDB model is a stub: an empty database
	}
	defer c.Close()
	raw, err := c.Find(amsUserDB, amsUserCollection)
	if err != nil {
		return nil, mongoStoreError(err)
	}
	out := make([]amsUserDoc, 0, len(raw))
	for _, m := range raw {
		b, _ := json.Marshal(m)
		var d amsUserDoc
		if err := json.Unmarshal(b, &d); err != nil {
			return nil, fmt.Errorf("decoding a %s.%s document: %w", amsUserDB, amsUserCollection, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// mongoStoreError classifies what the driver throws (the MongoDB model's
// MongoDriverError): an unreachable server is a MongoTimeoutException, which
// the driver throws after the server selection timeout; refused credentials
// (MongoSecurityException) and refused commands fail at once.
func mongoStoreError(err error) error {
	var de *mongod.MongoDriverError
	if errors.As(err, &de) && de.Exception == "com.mongodb.MongoTimeoutException" ||
		strings.Contains(strings.ToLower(err.Error()), "timed out") {
		return fmt.Errorf("%w: %v", errStoreTimeout, err)
	}
	return err
}

func (s *mongoUserStore) count() (int, error) {
	d, err := s.docs()
	return len(d), err
}

func (s *mongoUserStore) add(u amsUserDoc) (bool, error) {
	if _, found, err := s.get(u.Email); err != nil || found {
		return false, err
	}
	c, err := mongod.DialMongo(s.worldDir, s.uri, s.fromIP)
	if err != nil {
		return false, mongoStoreError(err)
	}
	if c == nil {
		return false, errors.New("MongoDB model not available (mongo_stub.go)")
	}
	defer c.Close()
	u.ID = newAMSObjectID()
	var doc map[string]any
	b, _ := json.Marshal(u)
	_ = json.Unmarshal(b, &doc)
	// Datastore.save: a plain insert. The _id is fresh, so "unique on _id"
	// is the only constraint, as in MongoDB itself.
	if err := c.InsertUnique(amsUserDB, amsUserCollection, doc, "_id"); err != nil {
		return false, mongoStoreError(err)
	}
	return true, nil
}

func (s *mongoUserStore) exists(email, password string) (bool, error) {
	docs, err := s.docs()
	for _, d := range docs {
		if d.Email == email && d.Password == password {
			return true, nil
		}
	}
	return false, err
}

func (s *mongoUserStore) get(email string) (amsUserDoc, bool, error) {
	docs, err := s.docs()
	for _, d := range docs {
		if d.Email == email {
			return d, true, nil
		}
	}
	return amsUserDoc{}, false, err
}

func (s *mongoUserStore) list() ([]amsUserDoc, error) { return s.docs() }

// newAMSObjectID makes a 12-byte ObjectId in hex.
func newAMSObjectID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// localUserStore is io.antmedia.console.datastore.MapDBStore
// (MapBasedDataStore): a map from e-mail to the user's Gson JSON, so an
// e-mail is unique by construction.
type localUserStore struct {
	path string
}

func (s *localUserStore) load() (map[string]amsUserDoc, error) {
	m := map[string]amsUserDoc{}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.path, err)
	}
	var file map[string]map[string]amsUserDoc
	if err := json.Unmarshal(b, &file); err != nil {
		return nil, fmt.Errorf("reading %s: %w", s.path, err)
	}
	for k, v := range file[amsUserDB] {
		m[k] = v
	}
	return m, nil
}

func (s *localUserStore) count() (int, error) {
	m, err := s.load()
	return len(m), err
}

func (s *localUserStore) add(u amsUserDoc) (bool, error) {
	m, err := s.load()
	if err != nil {
		return false, err
	}
	if _, taken := m[u.Email]; taken {
		return false, nil
	}
	m[u.Email] = u
	b, _ := json.MarshalIndent(map[string]map[string]amsUserDoc{amsUserDB: m}, "", "  ")
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return false, fmt.Errorf("writing %s: %w", s.path, err)
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return false, fmt.Errorf("writing %s: %w", s.path, err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return false, fmt.Errorf("writing %s: %w", s.path, err)
	}
	return true, nil
}

func (s *localUserStore) exists(email, password string) (bool, error) {
	d, ok, err := s.get(email)
	return ok && d.Password == password, err
}

func (s *localUserStore) get(email string) (amsUserDoc, bool, error) {
	m, err := s.load()
	d, ok := m[email]
	return d, ok, err
}

func (s *localUserStore) list() ([]amsUserDoc, error) {
	m, err := s.load()
	out := make([]amsUserDoc, 0, len(m))
	for _, d := range m {
		out = append(out, d)
	}
	return out, err
}

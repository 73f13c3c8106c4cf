package mongod

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

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
	return filepath.Join(root, machine.StateDir, "services", "mongod.json")
}

// LoadMongodState reads the state of the mongod of the node at root.
func LoadMongodState(root string) (mongodState, error) {
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

// Start starts mongod.service: it reads /etc/mongod.conf, checks it as
// mongod does at startup and snapshots the data directory it opens.
func Start(e *machine.Env) error {
	text, err := os.ReadFile(e.Path("/etc/mongod.conf"))
	if err != nil {
		return fmt.Errorf("Error reading config file: %v", errors.Unwrap(err))
	}
	cfg, err := ParseMongodConfig(e, text)
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

// Stop stops mongod.service (a clean shutdown).
func Stop(e *machine.Env) error {
	st, err := LoadMongodState(e.Root)
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

// DataDir is a directory mongod stores its databases in: one JSON file per
// collection (<db>.<coll>.json), users in admin.system.users.json.
type DataDir string

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

// Locked runs fn while holding the data directory's lock, shared or not.
func (d DataDir) Locked(exclusive bool, fn func() error) error {
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

func (d DataDir) collectionPath(db, coll string) string {
	return filepath.Join(string(d), db+"."+coll+".json")
}

// ReadDocs reads a collection; a missing one is empty.
func (d DataDir) ReadDocs(db, coll string, into any) error {
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

func (d DataDir) writeDocs(db, coll string, docs any) error {
	b, err := json.MarshalIndent(docs, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding %s.%s: %w", db, coll, err)
	}
	return writeFileAtomic(d.collectionPath(db, coll), b)
}

// Users lists the users stored in the data directory.
func (d DataDir) Users() ([]MongoUser, error) {
	var us []MongoUser
	err := d.ReadDocs("admin", "system.users", &us)
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

package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// World is one scenario's outside world: AWS, the private network and the
// EBS volumes, shared by its nodes.
type World struct {
	t   testing.TB
	dir string
	// AWS is the stand-in of the AWS APIs the nodes call.
	AWS *awsapi.AWS
	// ClockScale is how long one virtual second of a node's sleep takes for
	// real. Defaults to 2 ms, so that a ten-minute wait takes about a second.
	ClockScale time.Duration

	mu    sync.Mutex
	clock *worldClock       // nil: each node's clock is its own (clock.go)
	nodes map[string]*Node  // by private IP
	tools map[string]string // real tool paths, resolved once
}

// NewWorld makes an empty world in a temporary directory of t, with AWS in
// the given region and account.
func NewWorld(t testing.TB, region, account string) *World {
	t.Helper()
	w := &World{t: t, dir: t.TempDir(), ClockScale: 2 * time.Millisecond, nodes: map[string]*Node{}, tools: map[string]string{}}
	for _, d := range []string{"volumes", "shared"} {
		if err := os.MkdirAll(filepath.Join(w.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	w.AWS = awsapi.New(t, region, account)
	w.AWS.SetEndpoint(w.endpoint)
	w.saveNetwork()
	return w
}

// realTool finds a host program for the nodes. A version manager's shim
// (pyenv's python3 is a shell script) is resolved to the program itself,
// which starts several times faster.
func (w *World) realTool(name string) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p, ok := w.tools[name]; ok {
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", err
	}
	if name == "python3" {
		if out, err := exec.Command(p, "-c", "import sys; print(sys.executable)").Output(); err == nil && len(out) > 1 {
			p = strings.TrimSpace(string(out))
		}
	}
	w.tools[name] = p
	return p, nil
}

// Dir is the world's directory.
func (w *World) Dir() string { return w.dir }

// Volume is an EBS volume: it outlives the instances it is attached to.
type Volume struct {
	// ID is the volume ID (vol-...).
	ID  string
	dir string
}

// NewVolume creates a blank volume.
func (w *World) NewVolume(id string) *Volume {
	v := &Volume{ID: id, dir: filepath.Join(w.dir, "volumes", id)}
	if err := os.MkdirAll(filepath.Join(v.dir, "fs"), 0o755); err != nil {
		w.t.Fatal(err)
	}
	// The block device itself: empty until mkfs writes a signature.
	if err := os.WriteFile(filepath.Join(v.dir, "device"), nil, 0o644); err != nil {
		w.t.Fatal(err)
	}
	return v
}

// Files is the directory holding the file system on the volume.
func (v *Volume) Files() string { return filepath.Join(v.dir, "fs") }

// Formatted reports whether the volume carries a file system.
func (v *Volume) Formatted() bool {
	b, err := os.ReadFile(filepath.Join(v.dir, "device"))
	return err == nil && len(b) > 0
}

// FileSystemUUID is the UUID of the file system on the volume, or "".
func (v *Volume) FileSystemUUID() string {
	sig, _ := machine.ReadSignature(v.dir)
	return sig.UUID
}

// commands counts the commands every node of the world has run.
func (w *World) commands() int {
	logs, _ := filepath.Glob(filepath.Join(w.dir, "nodes", "*", "root", machine.StateDir, "exec.log"))
	total := 0
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			total += bytes.Count(b, []byte("\n"))
		}
	}
	return total
}

func (w *World) saveNetwork() {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := map[string]machine.NetworkEntry{}
	for ip, n := range w.nodes {
		m[ip] = machine.NetworkEntry{Root: n.root, InstanceID: n.ID, Image: n.Image}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(filepath.Join(w.dir, "network.json"), b, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

func (w *World) addNode(n *Node) error {
	w.mu.Lock()
	if _, taken := w.nodes[n.PrivateIP]; taken {
		w.mu.Unlock()
		return fmt.Errorf("address %s is taken", n.PrivateIP)
	}
	w.nodes[n.PrivateIP] = n
	w.mu.Unlock()
	w.saveNetwork()
	return nil
}

func (w *World) removeNode(n *Node) {
	w.mu.Lock()
	if w.nodes[n.PrivateIP] == n {
		delete(w.nodes, n.PrivateIP)
	}
	w.mu.Unlock()
	w.saveNetwork()
}

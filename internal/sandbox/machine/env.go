package machine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Systemctl runs the node's systemctl, as a process the sandbox records.
// It is the shim on the node's PATH, started with the node's environment
// so that it never reaches the host's systemctl.
func (e *Env) Systemctl(args ...string) int {
	shim := filepath.Join(e.Root, StateDir, "bin", "systemctl")
	cmd := exec.Command(shim, args...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(e.Root, StateDir, "bin"), EnvRoot+"="+e.Root, EnvWorld+"="+e.WorldDir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, e.Stdout, e.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	default:
		e.Errorf("service: %v", err)
		return 1
	}
}

// Environment variables through which a shim process finds its node.
const (
	EnvRoot  = "AMS_SANDBOX_ROOT"
	EnvWorld = "AMS_SANDBOX_WORLD"
)

// StandIn is one command of the sandbox, run in a shim process. It returns
// the exit status.
type StandIn func(e *Env, args []string) int

// Env is what a stand-in sees of its node and world. It is rebuilt from the
// files under the node's root in every shim process.
type Env struct {
	// Root is the node's root directory; Path maps host paths into it.
	Root string
	// WorldDir is the scenario's shared directory (volumes, network map).
	WorldDir string
	// Node describes the instance.
	Node NodeInfo
	// Stdin, Stdout and Stderr are the process's standard streams.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Models are the stand-ins and packages of the sandbox; nil
	// in an Env that runs none of them.
	Models *Models
}

// Models is what the sandbox wires into every Env, so that a model can
// reach another without importing it.
type Models struct {
	// StandIns are the commands by name.
	StandIns map[string]StandIn
	// Packages install the apt packages modelled beyond the base ones.
	Packages map[string]func(e *Env) error
}

// NodeInfo is the description of a node that its shim processes read.
type NodeInfo struct {
	InstanceID string `json:"instanceId"`
	PrivateIP  string `json:"privateIp"`
	Image      string `json:"image"`
	// Role and Group are the instance's IAM role and Auto Scaling group.
	Role  string `json:"role,omitempty"`
	Group string `json:"group,omitempty"`
	// ClockScale is how long one virtual second of sleep takes for real.
	ClockScale time.Duration `json:"clockScale"`
	// IMDSURL, AWSURL and AMSURL are where the node's metadata service, the
	// AWS APIs and (on an AMS image) its Ant Media Server answer.
	IMDSURL string `json:"imdsUrl"`
	AWSURL  string `json:"awsUrl"`
	AMSURL  string `json:"amsUrl,omitempty"`
	// SystemdURL is where the node's service manager answers systemctl.
	SystemdURL string `json:"systemdUrl"`
	// ClockURL, when set, is where the world's one clock answers: time
	// passes for every node at once, and only while every process of the
	// world waits (sandbox.World.ShareClock). Empty: the node's clock is
	// its own, moved by its own sleeps.
	ClockURL string `json:"clockUrl,omitempty"`
	// Born is the world's time at the node's launch on a shared clock (0
	// on a clock of its own): the node's clock reads its uptime, its wall
	// clock the world's time, the same on every node, as EC2 instances
	// keep theirs synchronised (Amazon Time Sync Service).
	Born int `json:"born,omitempty"`
	// Region is the AWS region.
	Region string `json:"region"`
}

// LoadEnv rebuilds, in a shim process, the Env of the node at root in the
// world directory world.
func LoadEnv(root, world string) (*Env, error) {
	e := &Env{Root: root, WorldDir: world, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	b, err := os.ReadFile(filepath.Join(root, StateDir, "node.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &e.Node); err != nil {
		return nil, err
	}
	return e, nil
}

// StateDir is where, under a node's root, the sandbox keeps its own books.
const StateDir = ".sandbox"

// Path maps an absolute host path into the node's root; a path already
// inside the root, or in the world's volumes, is returned unchanged.
func (e *Env) Path(p string) string {
	if p == e.Root || strings.HasPrefix(p, e.Root+"/") {
		return p
	}
	// The world's own files (the volumes behind block devices) are not
	// the node's: readlink -f on a device lands there.
	if e.WorldDir != "" && strings.HasPrefix(p, e.WorldDir+"/volumes/") {
		return p
	}
	return filepath.Join(e.Root, p)
}

// State is the path of one of the sandbox's own files for this node.
func (e *Env) State(name string) string {
	return filepath.Join(e.Root, StateDir, name)
}

// Errorf writes a message to the stand-in's standard error, as the real
// program would print it.
func (e *Env) Errorf(format string, args ...any) {
	fmt.Fprintf(e.Stderr, format+"\n", args...)
}

// Exec is one process a script started, as the sandbox recorded it.
type Exec struct {
	Argv []string `json:"argv"`
	// Clock is the node's virtual time when it started, in seconds.
	Clock int `json:"clock"`
}

// Record appends a process the node started to its exec record.
func (e *Env) Record(argv []string) {
	line, _ := json.Marshal(Exec{Argv: argv, Clock: e.Now()})
	f, err := os.OpenFile(e.State("exec.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}

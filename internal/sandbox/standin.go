package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Environment variables through which a shim process finds its node.
const (
	envRoot  = "AMS_SANDBOX_ROOT"
	envWorld = "AMS_SANDBOX_WORLD"
)

// StandIn is one command of the sandbox, run in a shim process. It returns
// the exit status.
type StandIn func(e *Env, args []string) int

// standIns maps command names to their stand-ins. Commands not listed here
// but present in the node's real-tool directory run the real program.
func standIns() map[string]StandIn {
	return map[string]StandIn{
		// system.go: the operating system of an EC2 instance.
		"systemctl":   systemctl,
		"mount":       mountCmd,
		"umount":      umountCmd,
		"mountpoint":  mountpointCmd,
		"blkid":       blkid,
		"mkfs.xfs":    mkfsXFS,
		"apt-get":     aptGet,
		"snap":        snapCmd,
		"gpg":         gpgCmd,
		"lsb_release": lsbRelease,
		"chown":       chownCmd,
		"sleep":       sleepCmd,
		"cloud-init":  cloudInit,
		// mongo.go: MongoDB's shell, in front of the mongod model.
		"mongosh": mongosh,
		// antmedia.go: Ant Media Server's mode switch script.
		"change_server_mode.sh": changeServerMode,
		// aws.go: the AWS CLI, for scripts that still call it.
		"aws": awsCLI,
		// cwagent.go: dpkg and the CloudWatch agent's control command.
		"dpkg":                        dpkg,
		"amazon-cloudwatch-agent-ctl": cwAgentCtlCmd,
	}
}

// Main turns the process into a stand-in when it was started through a
// sandbox shim, and returns otherwise. Call it first thing in TestMain.
func Main() {
	root := os.Getenv(envRoot)
	if root == "" {
		return
	}
	name := filepath.Base(os.Args[0])
	if strings.HasSuffix(name, ".test") {
		return
	}
	e, err := loadEnv(root, os.Getenv(envWorld))
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %s: %v\n", name, err)
		os.Exit(127)
	}
	e.Models = models()
	os.Exit(e.dispatch(name, os.Args[1:]))
}

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
	// Models are the stand-ins, daemons and packages of the sandbox; nil
	// in an Env that runs none of them.
	Models *Models
}

// Models is what the sandbox wires into every Env, so that a model can
// reach another without importing it.
type Models struct {
	// StandIns are the commands by name.
	StandIns map[string]StandIn
	// Services are the daemons systemctl starts and stops, by unit name.
	Services map[string]service
	// Packages install the apt packages modelled beyond the base ones.
	Packages map[string]func(e *Env) error
}

// service is the model of a daemon that systemctl starts and stops.
type service struct {
	start func(e *Env) error
	stop  func(e *Env) error
}

// models wires the sandbox's models.
func models() *Models {
	return &Models{
		StandIns: standIns(),
		Services: services(),
		Packages: map[string]func(e *Env) error{"mongodb-org": installMongoPackage},
	}
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
	// Region is the AWS region.
	Region string `json:"region"`
}

func loadEnv(root, world string) (*Env, error) {
	e := &Env{Root: root, WorldDir: world, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	b, err := os.ReadFile(filepath.Join(root, stateDir, "node.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &e.Node); err != nil {
		return nil, err
	}
	return e, nil
}

// stateDir is where, under a node's root, the sandbox keeps its own books.
const stateDir = ".sandbox"

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
	return filepath.Join(e.Root, stateDir, name)
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

func (e *Env) record(argv []string) {
	line, _ := json.Marshal(Exec{Argv: argv, Clock: e.Now()})
	f, err := os.OpenFile(e.State("exec.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Write(append(line, '\n'))
}

func (e *Env) dispatch(name string, args []string) int {
	e.record(append([]string{name}, args...))
	if s, ok := e.Models.StandIns[name]; ok {
		if !e.installed(name) {
			e.Errorf("%s: command not found", name)
			return 127
		}
		return s(e, args)
	}
	real, err := os.Readlink(filepath.Join(e.Root, stateDir, "real", name))
	if err != nil {
		e.Errorf("%s: command not found (not a sandbox stand-in nor an allowed real tool)", name)
		return 127
	}
	if err := syscall.Exec(real, append([]string{name}, args...), os.Environ()); err != nil {
		e.Errorf("sandbox: exec %s: %v", real, err)
		return 126
	}
	return 0
}

package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
)

// standIns maps command names to their stand-ins. Commands not listed here
// but present in the node's real-tool directory run the real program.
func standIns() map[string]machine.StandIn {
	return map[string]machine.StandIn{
		// machine, systemd, cloudinit: the operating system of an EC2 instance.
		"systemctl":   systemctl,
		"mount":       machine.MountCmd,
		"umount":      machine.UmountCmd,
		"mountpoint":  machine.MountpointCmd,
		"blkid":       machine.Blkid,
		"mkfs.xfs":    machine.MkfsXFS,
		"apt-get":     machine.AptGet,
		"snap":        machine.SnapCmd,
		"gpg":         machine.GpgCmd,
		"lsb_release": machine.LsbRelease,
		"chown":       machine.ChownCmd,
		"sleep":       machine.SleepCmd,
		"cloud-init":  cloudInitCmd,
		// mongod: MongoDB's shell, in front of the mongod model.
		"mongosh": mongod.Mongosh,
		// antmedia: Ant Media Server's mode switch script.
		"change_server_mode.sh": antmedia.ChangeServerMode,
		// awsapi: the AWS CLI, for scripts that still call it.
		"aws": awsapi.CLI,
		// awsapi: dpkg and the CloudWatch agent's control command.
		"dpkg":                        awsapi.Dpkg,
		"amazon-cloudwatch-agent-ctl": awsapi.CWAgentCtlCmd,
	}
}

// Main turns the process into a stand-in when it was started through a
// sandbox shim, and returns otherwise. Call it first thing in TestMain.
func Main() {
	root := os.Getenv(machine.EnvRoot)
	if root == "" {
		return
	}
	name := filepath.Base(os.Args[0])
	if strings.HasSuffix(name, ".test") {
		return
	}
	e, err := machine.LoadEnv(root, os.Getenv(machine.EnvWorld))
	if err != nil {
		fmt.Fprintf(os.Stderr, "sandbox: %s: %v\n", name, err)
		os.Exit(127)
	}
	e.Models = models()
	os.Exit(dispatch(e, name, os.Args[1:]))
}

// models wires the sandbox's models.
func models() *machine.Models {
	return &machine.Models{
		StandIns: standIns(),
		Packages: map[string]func(e *machine.Env) error{"mongodb-org": mongod.InstallPackage},
	}
}

// dispatch runs the stand-in of a command, or the real tool.
func dispatch(e *machine.Env, name string, args []string) int {
	e.Record(append([]string{name}, args...))
	if s, ok := e.Models.StandIns[name]; ok {
		if !e.Installed(name) {
			e.Errorf("%s: command not found", name)
			return 127
		}
		return s(e, args)
	}
	real, err := os.Readlink(filepath.Join(e.Root, machine.StateDir, "real", name))
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

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/sandbox/cloudinit"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/mongod"
	"github.com/ams-cluster/ams-aws/internal/sandbox/systemd"
)

// How a node boots: package systemd is its service manager, package
// cloudinit its handling of user data; this file wires them to the node.

// cloudFinalUnit is cloud-init's final stage on Ubuntu, as cloud-init ships
// it (systemd/cloud-final.service): a oneshot after multi-user.target. The
// sandbox runs the stage in process when the unit's ExecStart= runs.
const (
	cloudFinal     = "cloud-final.service"
	cloudFinalUnit = `[Unit]
Description=Cloud-init: Final Stage
After=network-online.target time-sync.target cloud-config.service rc-local.service
After=multi-user.target
Before=apt-daily.service
Wants=network-online.target cloud-config.service

[Service]
Type=oneshot
ExecStart=/usr/bin/cloud-init modules --mode=final
RemainAfterExit=yes
TimeoutSec=0

[Install]
WantedBy=cloud-init.target
`
	multiUserTarget = "[Unit]\nDescription=Multi-User System\nRequires=basic.target\nAfter=basic.target\n"
)

// daemons are the services the sandbox models in process, by unit name.
func daemons(e *machine.Env) map[string]systemd.Daemon {
	return map[string]systemd.Daemon{
		"mongod.service":   {Start: func() error { return mongod.Start(e) }, Stop: func() error { return mongod.Stop(e) }},
		"antmedia.service": {Start: func() error { return antmedia.Start(e) }, Stop: func() error { return antmedia.Stop(e) }},
	}
}

// system is a node's running operating system: its service manager and the
// endpoint its systemctl stand-in reaches it through.
type system struct {
	sd       *systemd.Manager
	srv      *httptest.Server
	userData chan *Running
	// waitDevices is set while the boot waits for the devices of fstab's
	// entries: a unit that requires one of them waits too.
	mu          sync.Mutex
	waitDevices bool
	// procs are the units' processes that have not ended yet.
	procs     map[*Running]bool
	closeOnce sync.Once
}

func (n *Node) startSystem() {
	e := n.Env()
	n.sys = &system{userData: make(chan *Running, 1), procs: map[*Running]bool{}}
	n.sys.sd = systemd.NewManager(nodeHost{n}, daemons(e), n.w.ClockScale)
	if n.clock != nil {
		n.sys.sd.SetClock(n.clock)
	}
	n.sys.srv = httptest.NewServer(n.sys.sd)
	n.w.t.Cleanup(n.sys.close)
}

func (s *system) close() {
	s.closeOnce.Do(func() {
		s.sd.Close()
		s.waitProcs()
		s.srv.Close()
	})
}

// waitProcs waits for the units' processes, killed already, to be gone.
func (s *system) waitProcs() {
	s.mu.Lock()
	var procs []*Running
	for r := range s.procs {
		procs = append(procs, r)
	}
	s.mu.Unlock()
	for _, r := range procs {
		r.Wait()
	}
}

// nodeHost is what package systemd sees of a node.
type nodeHost struct{ n *Node }

func (h nodeHost) Path(p string) string { return h.n.Env().Path(p) }
func (h nodeHost) Now() int             { return h.n.Env().Now() }
func (h nodeHost) InstanceID() string   { return h.n.ID }

type runningProcess struct{ r *Running }

func (p runningProcess) Kill() { p.r.cancel() }

// Exec runs a unit's program: one script of the node without arguments, or
// cloud-init's final stage for cloud-final.service.
func (h nodeHost) Exec(unit, command string, out io.Writer, exited func(int)) (systemd.Process, error) {
	if unit == cloudFinal {
		return h.n.runFinal(out, exited)
	}
	fields := strings.Fields(strings.TrimLeft(command, "-@+!:"))
	if len(fields) != 1 || !strings.HasPrefix(fields[0], h.n.root+"/") {
		return nil, fmt.Errorf("ExecStart=%q: the sandbox runs one script of the node, without arguments", command)
	}
	r, err := h.n.launchProcess(unit, fields[0], unit, out, "", func(res *Result) { exited(res.ExitCode) })
	if err != nil {
		return nil, err
	}
	return runningProcess{r}, nil
}

// Mounts mounts the file systems a unit requires: its RequiresMountsFor=
// paths and the fstab entries that name it in x-systemd.before= or
// x-systemd.required-by= (systemd.mount(5)). While the boot still waits for
// a device, so does the unit; after that, a missing device fails it.
func (h nodeHost) Mounts(unit string, paths []string) (bool, error) {
	e := h.n.Env()
	for _, f := range e.Fstab() {
		for _, o := range f.Options {
			if o == "x-systemd.before="+unit || o == "x-systemd.required-by="+unit {
				paths = append(paths, f.Point)
			}
		}
	}
	h.n.sys.mu.Lock()
	defer h.n.sys.mu.Unlock()
	for _, p := range paths {
		err := e.EnsureMounted(p)
		if errors.Is(err, machine.ErrNoDevice) && h.n.sys.waitDevices {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	return true, nil
}

// runFinal is cloud-final.service's program: cloud-init's final stage, in
// which the user data's scripts run once per instance.
func (n *Node) runFinal(out io.Writer, exited func(int)) (systemd.Process, error) {
	f, err := cloudinit.BeginFinal(nodeHost{n})
	if err != nil {
		return nil, err
	}
	for _, line := range f.Log {
		fmt.Fprintln(out, "cloud-init: "+line)
	}
	if len(f.Scripts) == 0 {
		code, err := f.End(nil, n.CloudInitWarnings)
		if err != nil {
			return nil, err
		}
		go exited(code)
		return runningProcess{&Running{cancel: func() {}}}, nil
	}
	if len(f.Scripts) > 1 {
		return nil, fmt.Errorf("the sandbox runs one user data script, found %v", f.Scripts)
	}
	script := f.Scripts[0]
	r, err := n.launchProcess(filepath.Base(script), script, cloudFinal, out, "var/log/cloud-init-output.log", func(res *Result) {
		var failed []string
		if res.ExitCode != 0 {
			failed = append(failed, filepath.Base(script))
		}
		code, err := f.End(failed, n.CloudInitWarnings)
		if err != nil {
			code = 1
		}
		exited(code)
	})
	if err != nil {
		return nil, err
	}
	r.log = n.BootLog
	select {
	case n.sys.userData <- r:
	default: // nobody waits for it
	}
	return runningProcess{r}, nil
}

// boot boots the node: cloud-init's status starts over, the service manager
// starts multi-user.target (every enabled unit, in dependency order) and
// the units given, and the file systems of fstab come up as their devices
// appear. A mount marked nofail is only wanted by local-fs.target, not
// ordered before anything (systemd.mount(5), "nofail"), so the boot goes
// on without it; a unit that requires it waits up to DeviceTimeout.
func (n *Node) boot(units ...string) error {
	e := n.Env()
	if err := e.AppearDevices(); err != nil {
		return err
	}
	if err := cloudinit.Booted(nodeHost{n}); err != nil {
		return err
	}
	n.sys.mu.Lock()
	n.sys.waitDevices = true
	n.sys.mu.Unlock()
	n.sys.sd.Boot(units...)
	for waited := 0; ; waited++ {
		pending := false
		n.sys.mu.Lock()
		for _, f := range e.Fstab() {
			if f.Point == "/" || f.Has("noauto") {
				continue
			}
			if _, ok := e.MountedAt(f.Point); ok {
				continue
			}
			if dev, ok := e.ResolveSpec(f.Spec); ok {
				_ = e.Mount(dev, f.Point)
				continue
			}
			pending = true
		}
		if !pending || waited >= DeviceTimeout {
			n.sys.waitDevices = false
		}
		done := !n.sys.waitDevices
		n.sys.mu.Unlock()
		n.sys.sd.Kick()
		if done {
			return nil
		}
		if err := e.Advance(1); err != nil {
			return err
		}
	}
}

// StartUserData runs the instance's user data as cloud-init does on its
// first boot: the script becomes /var/lib/cloud/instance/scripts/<name>
// and runs in cloud-final.service, after multi-user.target, as a process
// of that unit. It returns the script's run; Wait returns once
// cloud-final has finished. User data runs once per instance: a second
// call fails the test.
func (n *Node) StartUserData(name, script string) *Running {
	n.w.t.Helper()
	if _, err := os.Stat(n.Path(cloudinit.SemaphorePath(n.ID))); err == nil {
		n.w.t.Fatalf("node %s: user data already ran on this instance; cloud-init runs it once per instance (cloudinit/helpers.py FileSemaphores)", n.ID)
	}
	rewritten, err := n.rewrite(script)
	if err != nil {
		n.w.t.Fatalf("node %s: user data %s: %v", n.ID, name, err)
	}
	dir := n.Path(cloudinit.ScriptsDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		n.w.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(rewritten), 0o700); err != nil {
		n.w.t.Fatal(err)
	}
	var out strings.Builder
	if code := n.sys.sd.Systemctl("", []string{"start", "--no-block", cloudFinal}, &out, &out); code != 0 {
		n.w.t.Fatalf("node %s: starting %s: %s", n.ID, cloudFinal, out.String())
	}
	select {
	case r := <-n.sys.userData:
		return r
	case <-time.After(RunTimeout):
		n.w.t.Fatalf("node %s: %s did not run the user data within %v; jobs %v", n.ID, cloudFinal, RunTimeout, n.sys.sd.Jobs())
		return nil
	}
}

// RunUserData runs the instance's user data (StartUserData) and waits for
// it to end.
func (n *Node) RunUserData(name, script string) *Result {
	n.w.t.Helper()
	return n.StartUserData(name, script).Wait()
}

// HaltAt arms a breakpoint on the node: the process of the node's models
// that next makes event happen (mongod.EventUserCreated and the like)
// stops right after, its effect made and its caller unanswered, until
// the power goes off. It cuts a node between two steps of a script with
// no race against real time.
func (n *Node) HaltAt(event string) {
	n.w.t.Helper()
	if err := machine.ArmBreakpoint(n.root, event); err != nil {
		n.w.t.Fatalf("node %s: arming a breakpoint: %v", n.ID, err)
	}
}

// HaltedAt reports that a process stopped at the breakpoint of event.
func (n *Node) HaltedAt(event string) bool { return machine.BreakpointHit(n.root, event) }

// PowerOff cuts the node's power: every process of every unit dies at once
// (the user data's with cloud-final's), every job is dropped.
func (n *Node) PowerOff() {
	n.sys.sd.PowerOff()
	n.sys.waitProcs()
}

// Reboot restarts the instance, as a reboot, a stop and start (a node
// leaving a warm pool) or an EC2 recovery does: the power goes off (every
// process dies, services stop), file systems are unmounted and /run is
// emptied; then the node boots again with its volumes still attached,
// their devices reappearing after deviceDelay virtual seconds. The enabled
// units start; cloud-final runs, but never the user data again (cloud-init
// runs it once per instance).
func (n *Node) Reboot(deviceDelay int) {
	n.w.t.Helper()
	e := n.Env()
	n.PowerOff()
	if err := machine.UnmountAll(e); err != nil {
		n.w.t.Fatalf("node %s: reboot: unmount: %v", n.ID, err)
	}
	list := e.Attachments()
	for i, a := range list {
		_ = os.Remove(e.Path(a.Device))
		_ = os.Remove(e.Path("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.ReplaceAll(a.VolumeID, "-", "")))
		list[i].AppearAt = e.Now() + deviceDelay
	}
	if err := e.SaveAttachments(list); err != nil {
		n.w.t.Fatal(err)
	}
	_ = os.RemoveAll(e.Path("/run"))
	_ = os.MkdirAll(e.Path("/run"), 0o755)
	if err := n.boot(cloudFinal); err != nil {
		n.w.t.Fatalf("node %s: reboot: %v", n.ID, err)
	}
}

// BootTimeout bounds, in real time, the waits for units and boots.
const BootTimeout = RunTimeout

// WaitBoot waits until the service manager has no job left (every unit of
// this boot has started, cloud-final included) and fails with the jobs
// left, or the deadlocks found, when that does not happen within
// BootTimeout.
func (n *Node) WaitBoot() error {
	idle := n.sys.sd.WaitIdle(BootTimeout)
	if d := n.sys.sd.Deadlocks(); len(d) > 0 {
		return fmt.Errorf("node %s: %v", n.ID, d)
	}
	if !idle {
		return fmt.Errorf("node %s: boot not finished after %v; jobs %v", n.ID, BootTimeout, n.sys.sd.Jobs())
	}
	return nil
}

// WaitUnit waits until a unit has no job and no pending restart, at most
// BootTimeout, and returns its state.
func (n *Node) WaitUnit(unit string) systemd.UnitState {
	return n.sys.sd.WaitUnit(unit, BootTimeout)
}

// Unit reports a unit's state.
func (n *Node) Unit(unit string) systemd.UnitState { return n.sys.sd.State(unit) }

// UnitActive reports whether a systemd unit of the node is active.
func (n *Node) UnitActive(unit string) bool { return n.Unit(unit).Active == "active" }

// UnitEnabled reports whether a unit is enabled (an install link exists).
func (n *Node) UnitEnabled(unit string) bool { return n.sys.sd.Enabled(unit) }

// Journal is what a unit's processes wrote and what the manager logged of
// it, since the node was launched.
func (n *Node) Journal(unit string) string { return n.sys.sd.Journal(unit) }

// Deadlocks lists the blocking systemctl calls that could never have
// returned on a real machine (the model made them exit 1).
func (n *Node) Deadlocks() []systemd.Deadlock { return n.sys.sd.Deadlocks() }

// BootLog is the node's boot log, /var/log/cloud-init-output.log: what the
// user data and the units that append to it wrote.
func (n *Node) BootLog() string {
	b, _ := os.ReadFile(n.Path("/var/log/cloud-init-output.log"))
	return string(b)
}

// CloudInitStatus runs `cloud-init status --long` on the node and returns
// its exit status and output.
func (n *Node) CloudInitStatus() (int, string) {
	var out strings.Builder
	code := cloudinit.Status(nodeHost{n}, []string{"--long"}, &out, func() {})
	return code, out.String()
}

// systemctl is the systemctl stand-in: it asks the node's service manager.
func systemctl(e *machine.Env, args []string) int {
	return systemd.Client(e.Node.SystemdURL, args, e.Stdout, e.Stderr)
}

// cloudInitCmd is the cloud-init stand-in: `cloud-init status [--wait]`
// from this boot's status (package cloudinit).
func cloudInitCmd(e *machine.Env, args []string) int {
	if len(args) == 0 || args[0] != "status" {
		e.Errorf("cloud-init: the sandbox models only `cloud-init status`")
		return 2
	}
	return cloudinit.Status(envNode{e}, args[1:], e.Stdout, func() { time.Sleep(e.Node.ClockScale * 125) })
}

type envNode struct{ e *machine.Env }

func (n envNode) Path(p string) string { return n.e.Path(p) }
func (n envNode) InstanceID() string   { return n.e.Node.InstanceID }

// launchProcess runs a script file of the node (already rooted) in the
// background, as a process of unit ("" for none); its output also goes to
// out, and to the node file logTo when given; after runs once it has ended,
// before Wait returns.
func (n *Node) launchProcess(name, path, unit string, out io.Writer, logTo string, after func(*Result)) (*Running, error) {
	n.settle()
	ctx, cancel := context.WithTimeout(context.Background(), RunTimeout)
	var r *Running
	done := func(res *Result) {
		if after != nil {
			after(res)
		}
		n.sys.mu.Lock()
		delete(n.sys.procs, r)
		n.sys.mu.Unlock()
	}
	n.sys.mu.Lock()
	defer n.sys.mu.Unlock()
	r, err := n.command(ctx, cancel, name, path, unit, out, logTo, done)
	if err != nil {
		cancel()
		return nil, err
	}
	if unit != "" {
		n.sys.procs[r] = true
	}
	return r, nil
}

// ----- boot -----------------------------------------------------------------

// DeviceTimeout is how long systemd waits for the device of an fstab entry
// at boot (x-systemd.device-timeout=, 90 s by default; systemd.mount(5)).
const DeviceTimeout = 90

// settle lets devices that are due appear before a script starts.
func (n *Node) settle() {
	_ = n.Env().AppearDevices()
}

package sandbox

import (
	"os"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
	"github.com/ams-cluster/ams-aws/internal/sandbox/systemd"
)

// boot models a systemd boot of the node. Enabled services start at once
// unless they are ordered after a mount (RequiresMountsFor=, or
// x-systemd.before= in fstab): a mount marked nofail is only wanted by
// local-fs.target, not ordered before anything (systemd.mount(5), "nofail"),
// so the boot goes on without waiting for its device. Devices appear when
// their attachment completes; mounts follow, in virtual time.
func (n *Node) boot() error {
	e := n.Env()
	if err := e.AppearDevices(); err != nil {
		return err
	}
	entries, _ := os.ReadDir(e.Path("/etc/systemd/system/multi-user.target.wants"))
	var waiting []string
	for _, ent := range entries {
		unit := ent.Name()
		if len(systemd.RequiredMounts(e, unit)) > 0 {
			waiting = append(waiting, unit)
			continue
		}
		_ = systemd.StartUnit(e, unit) // a failing unit is logged as failed; the boot goes on
	}
	// Mounts from fstab whose devices are there come up; those still
	// missing are waited for up to DeviceTimeout.
	for waited := 0; ; waited++ {
		pending := false
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
		if !pending || waited >= systemd.DeviceTimeout {
			break
		}
		if err := e.Advance(1); err != nil {
			return err
		}
	}
	for _, unit := range waiting {
		_ = systemd.StartUnit(e, unit)
	}
	return nil
}

// settle lets devices that are due appear before a script starts.
func (n *Node) settle() {
	_ = n.Env().AppearDevices()
}

// Reboot restarts the instance (stop its running scripts first with
// Running.Stop, as the power going off would): services stop,
// file systems are unmounted and /run is emptied; then the node boots again
// with its volumes still attached, their devices reappearing after
// deviceDelay virtual seconds. User data does not run again (cloud-init runs
// it once per instance).
func (n *Node) Reboot(deviceDelay int) {
	n.w.t.Helper()
	e := n.Env()
	systemd.StopAllServices(e)
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
	if err := n.boot(); err != nil {
		n.w.t.Fatalf("node %s: reboot: %v", n.ID, err)
	}
}

// UnitActive reports whether a systemd unit of the node is active.
func (n *Node) UnitActive(unit string) bool {
	return systemd.Status(n.Env(), systemd.UnitName(unit)).Active == "active"
}

package systemd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// UnitName is the full name of a unit: a name without a suffix is a
// service, as systemctl reads it.
func UnitName(name string) string {
	if strings.Contains(name, ".") {
		return name
	}
	return name + ".service"
}

// UnitFile finds a unit's file: /etc/systemd/system wins over
// /lib/systemd/system (systemd.unit(5), "Unit File Load Path").
func UnitFile(e *machine.Env, unit string) (string, bool) {
	for _, dir := range []string{"/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"} {
		p := e.Path(dir + "/" + unit)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// RequiredMounts lists the RequiresMountsFor= paths of a unit, from its
// file and its drop-ins (<unit>.d/*.conf) (systemd.unit(5)).
func RequiredMounts(e *machine.Env, unit string) []string {
	var files []string
	if f, ok := UnitFile(e, unit); ok {
		files = append(files, f)
	}
	for _, dir := range []string{"/etc/systemd/system", "/lib/systemd/system", "/run/systemd/system"} {
		dropins, _ := filepath.Glob(e.Path(dir + "/" + unit + ".d/*.conf"))
		sort.Strings(dropins)
		files = append(files, dropins...)
	}
	var out []string
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "RequiresMountsFor="); ok {
				out = append(out, strings.Fields(v)...)
			}
		}
	}
	// x-systemd.before=<unit> or x-systemd.required-by=<unit> in fstab
	// order a mount before the unit as well (systemd.mount(5)).
	for _, f := range e.Fstab() {
		for _, o := range f.Options {
			if o == "x-systemd.before="+unit || o == "x-systemd.required-by="+unit {
				out = append(out, f.Point)
			}
		}
	}
	return out
}

func enabled(e *machine.Env, unit string) bool {
	_, err := os.Lstat(e.Path("/etc/systemd/system/multi-user.target.wants/" + unit))
	return err == nil
}

// unitStatus is the runtime state of a unit.
type unitStatus struct {
	Active string `json:"active"` // active, inactive, failed
	Since  int    `json:"since"`
}

// Status is the runtime state of a unit of the node.
func Status(e *machine.Env, unit string) unitStatus {
	var s unitStatus
	if b, err := os.ReadFile(e.State("units/" + unit + ".json")); err == nil {
		_ = json.Unmarshal(b, &s)
	}
	if s.Active == "" {
		s.Active = "inactive"
	}
	return s
}

func setStatus(e *machine.Env, unit, active string) error {
	if err := os.MkdirAll(e.State("units"), 0o755); err != nil {
		return err
	}
	b, _ := json.Marshal(unitStatus{Active: active, Since: e.Now()})
	return os.WriteFile(e.State("units/"+unit+".json"), b, 0o644)
}

// StartUnit starts a unit as systemd does: first the mounts it requires
// (RequiresMountsFor= implies Requires= and After= on the mount units),
// which fail when their device is absent; a failed dependency fails the
// unit without running it.
func StartUnit(e *machine.Env, unit string) error {
	if _, ok := UnitFile(e, unit); !ok {
		return fmt.Errorf("Unit %s not found.", unit)
	}
	for _, path := range RequiredMounts(e, unit) {
		if err := ensureMounted(e, path); err != nil {
			_ = setStatus(e, unit, "failed")
			return fmt.Errorf("A dependency job for %s failed. See 'journalctl -xe' for details. (%v)", unit, err)
		}
	}
	svc, modelled := e.Models.Services[unit]
	if !modelled {
		return setStatus(e, unit, "active")
	}
	if Status(e, unit).Active == "active" {
		return nil
	}
	if err := svc.Start(e); err != nil {
		_ = setStatus(e, unit, "failed")
		return fmt.Errorf("Job for %s failed because the control process exited with error code. (%v)", unit, err)
	}
	return setStatus(e, unit, "active")
}

func stopUnit(e *machine.Env, unit string) error {
	if svc, ok := e.Models.Services[unit]; ok && Status(e, unit).Active == "active" {
		if err := svc.Stop(e); err != nil {
			return err
		}
	}
	return setStatus(e, unit, "inactive")
}

// ensureMounted mounts the file system of path (the fstab entry whose mount
// point is path or its closest parent), if it is not mounted yet.
func ensureMounted(e *machine.Env, path string) error {
	target := filepath.Clean(e.Path(path))
	var best *machine.FstabEntry
	for _, f := range e.Fstab() {
		if f.Point == "/" {
			continue
		}
		if target == f.Point || strings.HasPrefix(target, f.Point+"/") {
			if best == nil || len(f.Point) > len(best.Point) {
				f := f
				best = &f
			}
		}
	}
	if best == nil {
		return nil // on the root file system
	}
	if _, ok := e.MountedAt(best.Point); ok {
		return nil
	}
	dev, ok := e.ResolveSpec(best.Spec)
	if !ok {
		return fmt.Errorf("device %s for %s did not appear", best.Spec, best.Point)
	}
	return e.Mount(dev, best.Point)
}

// Systemctl models the systemctl(1) verbs the scripts use.
func Systemctl(e *machine.Env, args []string) int {
	var words []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		return 0
	}
	verb, units := words[0], words[1:]
	now := false
	for _, a := range args {
		if a == "--now" {
			now = true
		}
	}
	for i, u := range units {
		units[i] = UnitName(u)
	}
	switch verb {
	case "daemon-reload":
		return 0
	case "enable", "disable":
		for _, u := range units {
			f, ok := UnitFile(e, u)
			if !ok {
				e.Errorf("Failed to %s unit: Unit file %s does not exist.", verb, u)
				return 1
			}
			link := e.Path("/etc/systemd/system/multi-user.target.wants/" + u)
			if verb == "enable" {
				_ = os.MkdirAll(filepath.Dir(link), 0o755)
				if _, err := os.Lstat(link); err != nil {
					if err := os.Symlink(f, link); err != nil {
						e.Errorf("Failed to enable unit: %v", err)
						return 1
					}
				}
				if now {
					if err := StartUnit(e, u); err != nil {
						e.Errorf("%v", err)
						return 1
					}
				}
			} else {
				_ = os.Remove(link)
			}
		}
		return 0
	case "start", "restart", "reload-or-restart", "try-restart":
		for _, u := range units {
			if verb != "start" && Status(e, u).Active == "active" {
				if err := stopUnit(e, u); err != nil {
					e.Errorf("%v", err)
					return 1
				}
			}
			if verb == "try-restart" {
				continue
			}
			if err := StartUnit(e, u); err != nil {
				e.Errorf("%v", err)
				if strings.HasPrefix(err.Error(), "Unit ") {
					return 5
				}
				return 1
			}
		}
		return 0
	case "stop":
		for _, u := range units {
			if err := stopUnit(e, u); err != nil {
				e.Errorf("%v", err)
				return 1
			}
		}
		return 0
	case "is-active":
		code := 0
		for _, u := range units {
			s := Status(e, u).Active
			fmt.Fprintln(e.Stdout, s)
			if s != "active" {
				code = 3
			}
		}
		return code
	case "is-enabled":
		for _, u := range units {
			if !enabled(e, u) {
				fmt.Fprintln(e.Stdout, "disabled")
				return 1
			}
			fmt.Fprintln(e.Stdout, "enabled")
		}
		return 0
	default:
		e.Errorf("systemctl: the sandbox does not model %q", verb)
		return 1
	}
}

// StopAllServices stops every unit of the node, as a shutdown does.
func StopAllServices(e *machine.Env) {
	entries, _ := os.ReadDir(e.State("units"))
	for _, ent := range entries {
		unit := strings.TrimSuffix(ent.Name(), ".json")
		_ = stopUnit(e, unit)
	}
}

// ----- boot -----------------------------------------------------------------

// DeviceTimeout is how long systemd waits for the device of an fstab entry
// at boot (x-systemd.device-timeout=, 90 s by default; systemd.mount(5)).
const DeviceTimeout = 90

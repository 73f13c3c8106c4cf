package machine

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ----- mounts ----------------------------------------------------------------

// mountEntry is one mounted file system. A mount is modelled by replacing
// the mount point with a link to the volume's files; what was in the
// directory before is kept aside and comes back at unmount, as files under
// a mount point do.
type mountEntry struct {
	Point     string `json:"point"`
	Device    string `json:"device"`
	VolumeDir string `json:"volumeDir"`
}

func (e *Env) mounts() []mountEntry {
	var out []mountEntry
	if b, err := os.ReadFile(e.State("mounts.json")); err == nil {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

func (e *Env) saveMounts(list []mountEntry) error {
	b, _ := json.MarshalIndent(list, "", "  ")
	return os.WriteFile(e.State("mounts.json"), b, 0o644)
}

// MountedAt reports the mount at a mount point of the node, if any.
func (e *Env) MountedAt(point string) (mountEntry, bool) {
	point = filepath.Clean(e.Path(point))
	for _, m := range e.mounts() {
		if m.Point == point {
			return m, true
		}
	}
	return mountEntry{}, false
}

// fstabEntry is a line of /etc/fstab (fstab(5)).
type fstabEntry struct {
	Spec, Point, Type string
	Options           []string
}

// Has reports whether the entry carries a mount option.
func (f fstabEntry) Has(option string) bool {
	for _, o := range f.Options {
		if o == option || strings.HasPrefix(o, option+"=") {
			return true
		}
	}
	return false
}

// Fstab reads the node's /etc/fstab.
func (e *Env) Fstab() []fstabEntry {
	b, _ := os.ReadFile(e.Path("/etc/fstab"))
	var out []fstabEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		out = append(out, fstabEntry{Spec: f[0], Point: filepath.Clean(f[1]), Type: f[2], Options: strings.Split(f[3], ",")})
	}
	return out
}

// ResolveSpec finds the device of an fstab spec: UUID=, LABEL= or a path.
func (e *Env) ResolveSpec(spec string) (string, bool) {
	key, value, tagged := strings.Cut(spec, "=")
	if !tagged {
		_, ok := e.volumeOf(spec)
		return spec, ok
	}
	for _, a := range e.Attachments() {
		if _, err := os.Lstat(e.Path(a.Device)); err != nil {
			continue
		}
		sig, ok := ReadSignature(a.VolumeDir)
		if ok && ((key == "UUID" && sig.UUID == value) || (key == "LABEL" && sig.Label == value)) {
			return a.Device, true
		}
	}
	return "", false
}

// MountCmd models mount(8): `mount POINT` or `mount DEVICE` mounts the
// matching /etc/fstab entry, `mount DEVICE POINT` mounts directly. A device
// without a file system is refused ("wrong fs type, bad option, bad
// superblock").
func MountCmd(e *Env, args []string) int {
	var words []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		for _, m := range e.mounts() {
			fmt.Fprintf(e.Stdout, "%s on %s type xfs (rw,noatime)\n", m.Device, m.Point)
		}
		return 0
	}
	var device, point string
	switch len(words) {
	case 1:
		target := filepath.Clean(e.Path(words[0]))
		for _, f := range e.Fstab() {
			if f.Point == target || f.Spec == words[0] {
				dev, ok := e.ResolveSpec(f.Spec)
				if !ok {
					e.Errorf("mount: %s: special device %s does not exist.", f.Point, f.Spec)
					return 32
				}
				device, point = dev, f.Point
			}
		}
		if point == "" {
			e.Errorf("mount: %s: can't find in /etc/fstab.", words[0])
			return 1
		}
	default:
		device, point = words[0], words[1]
	}
	if err := e.Mount(device, point); err != nil {
		e.Errorf("mount: %s: %v", point, err)
		return 32
	}
	return 0
}

// Mount mounts the file system of a block device of the node at point.
func (e *Env) Mount(device, point string) error {
	point = filepath.Clean(e.Path(point))
	if _, busy := e.MountedAt(point); busy {
		return errors.New("already mounted")
	}
	vol, ok := e.volumeOf(device)
	if !ok {
		return fmt.Errorf("special device %s does not exist", device)
	}
	if _, ok := ReadSignature(vol); !ok {
		return fmt.Errorf("wrong fs type, bad option, bad superblock on %s, missing codepage or helper program, or other error", device)
	}
	info, err := os.Stat(point)
	if err != nil || !info.IsDir() {
		return errors.New("mount point does not exist")
	}
	shadow := e.State("shadowed" + point)
	if err := os.MkdirAll(filepath.Dir(shadow), 0o755); err != nil {
		return err
	}
	if err := os.Rename(point, shadow); err != nil {
		return err
	}
	if err := os.Symlink(filepath.Join(vol, "fs"), point); err != nil {
		return err
	}
	if err := e.moveOpenPaths(point, shadow); err != nil {
		return err
	}
	return e.saveMounts(append(e.mounts(), mountEntry{Point: point, Device: device, VolumeDir: vol}))
}

// moveOpenPaths keeps running services on the directories they opened: a
// process that opened a directory before a file system was mounted over it
// goes on using the hidden directory, not the new mount. Services record the
// paths they opened in their state files under .sandbox/services; those
// paths follow the directory to where the mount keeps it aside, and back.
func (e *Env) moveOpenPaths(from, to string) error {
	files, _ := filepath.Glob(e.State("services/*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var v any
		if json.Unmarshal(b, &v) != nil {
			continue
		}
		moved := movePaths(v, from, to)
		out, err := json.Marshal(moved)
		if err != nil {
			return err
		}
		if err := os.WriteFile(f, out, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func movePaths(v any, from, to string) any {
	switch v := v.(type) {
	case string:
		if v == from || strings.HasPrefix(v, from+"/") {
			return to + strings.TrimPrefix(v, from)
		}
		return v
	case []any:
		for i := range v {
			v[i] = movePaths(v[i], from, to)
		}
		return v
	case map[string]any:
		for k := range v {
			v[k] = movePaths(v[k], from, to)
		}
		return v
	default:
		return v
	}
}

func (e *Env) unmount(point string) error {
	point = filepath.Clean(e.Path(point))
	var keep []mountEntry
	found := false
	for _, m := range e.mounts() {
		if m.Point == point {
			found = true
			continue
		}
		keep = append(keep, m)
	}
	if !found {
		return errors.New("not mounted")
	}
	if err := os.Remove(point); err != nil {
		return err
	}
	if err := os.Rename(e.State("shadowed"+point), point); err != nil {
		return err
	}
	if err := e.moveOpenPaths(e.State("shadowed"+point), point); err != nil {
		return err
	}
	return e.saveMounts(keep)
}

// UnmountAll unmounts every file system of the node, as a shutdown does.
func UnmountAll(e *Env) error {
	var errs []error
	for _, m := range e.mounts() {
		errs = append(errs, e.unmount(m.Point))
	}
	return errors.Join(errs...)
}

// UmountCmd models umount(8).
func UmountCmd(e *Env, args []string) int {
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			continue
		}
		if err := e.unmount(a); err != nil {
			e.Errorf("umount: %s: %v.", a, err)
			return 32
		}
	}
	return 0
}

// MountpointCmd models mountpoint(1): exit 0 when the directory is a mount
// point, 32 otherwise.
func MountpointCmd(e *Env, args []string) int {
	quiet := false
	for _, a := range args {
		if a == "-q" {
			quiet = true
			continue
		}
		if _, ok := e.MountedAt(a); ok {
			if !quiet {
				fmt.Fprintf(e.Stdout, "%s is a mountpoint\n", a)
			}
			return 0
		}
		if !quiet {
			fmt.Fprintf(e.Stdout, "%s is not a mountpoint\n", a)
		}
		return 32
	}
	return 1
}

// ----- mounts for units ---------------------------------------------------

// ErrNoDevice says that the device of a file system has not appeared.
var ErrNoDevice = errors.New("device did not appear")

// EnsureMounted mounts the file system of path (the fstab entry whose mount
// point is path or its closest parent), if it is not mounted yet.
func (e *Env) EnsureMounted(path string) error {
	target := filepath.Clean(e.Path(path))
	var best *fstabEntry
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
		return fmt.Errorf("%w: %s for %s", ErrNoDevice, best.Spec, best.Point)
	}
	return e.Mount(dev, best.Point)
}

package sandbox

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The operating system of an EC2 instance: systemd, block devices and
// mounts, apt. Each stand-in follows the behaviour of the real tool that the
// boot scripts rely on, as documented in its manual page (cited beside it).

// ----- packages -------------------------------------------------------------

// packageCommands are the commands a package provides that the sandbox has
// stand-ins or shims for.
func packageCommands() map[string]string {
	return map[string]string{
		"mongosh":  "mongodb-org",
		"mkfs.xfs": "xfsprogs",
		"aws":      "awscli",
		"gpg":      "gnupg",
		"curl":     "curl",
		"python3":  "python3",
	}
}

// markInstalled records a package as installed and puts its commands on
// the node's PATH.
func markInstalled(e *Env, pkg string) error {
	if err := os.WriteFile(e.State("packages/"+pkg), []byte("installed\n"), 0o644); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for cmd, p := range packageCommands() {
		if p != pkg {
			continue
		}
		var standIn bool
		if e.Models != nil {
			_, standIn = e.Models.StandIns[cmd]
		}
		if _, err := os.Readlink(e.State("real/" + cmd)); !standIn && err != nil {
			continue // neither a stand-in nor a real tool on this host
		}
		if err := os.Symlink(self, e.State("bin/"+cmd)); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

func (e *Env) packageInstalled(pkg string) bool {
	_, err := os.Stat(e.State("packages/" + pkg))
	return err == nil
}

// installed reports whether a command exists on the node: commands that
// come with a package exist once it is installed.
func (e *Env) installed(cmd string) bool {
	pkg, ok := packageCommands()[cmd]
	return !ok || e.packageInstalled(pkg)
}

// aptGet models apt-get (apt-get(8)): "update" reads the configured
// sources, "install" installs packages from them. A package from a
// third-party repository installs only when its sources entry names a
// keyring (signed-by=) that exists: apt refuses unsigned repositories
// (apt-secure(8): "The repository ... is not signed").
func aptGet(e *Env, args []string) int {
	var words []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			words = append(words, a)
		}
	}
	if len(words) == 0 {
		e.Errorf("E: Invalid operation")
		return 100
	}
	switch words[0] {
	case "update":
		if err := os.WriteFile(e.State("apt-updated"), []byte(strings.Join(e.aptRepositories(), "\n")), 0o644); err != nil {
			e.Errorf("E: %v", err)
			return 100
		}
		return 0
	case "install":
		for _, pkg := range words[1:] {
			if err := e.aptInstall(pkg); err != nil {
				e.Errorf("E: %v", err)
				return 100
			}
		}
		return 0
	default:
		e.Errorf("E: Invalid operation %s", words[0])
		return 100
	}
}

// aptRepositories lists the signed third-party repositories configured in
// /etc/apt/sources.list.d whose keyring exists.
func (e *Env) aptRepositories() []string {
	var out []string
	files, _ := filepath.Glob(e.Path("/etc/apt/sources.list.d/*.list"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "deb ") {
				continue
			}
			i := strings.Index(line, "signed-by=")
			if i < 0 {
				continue
			}
			keyring := strings.Fields(strings.Trim(line[i+len("signed-by="):], "[] "))[0]
			keyring = strings.TrimRight(keyring, "]")
			if _, err := os.Stat(e.Path(keyring)); err != nil {
				continue
			}
			out = append(out, line)
		}
	}
	return out
}

func (e *Env) aptInstall(pkg string) error {
	switch pkg {
	case "ca-certificates", "curl", "gnupg", "xfsprogs", "lsb-release", "python3":
		return markInstalled(e, pkg)
	case "awscli":
		// Ubuntu 24.04 dropped the awscli package.
		return errors.New("Package awscli has no installation candidate")
	case "mongodb-org":
		updated, err := os.ReadFile(e.State("apt-updated"))
		if err != nil || !strings.Contains(string(updated), "repo.mongodb.org/apt/ubuntu") {
			return fmt.Errorf("Unable to locate package %s", pkg)
		}
		return e.Models.Packages[pkg](e)
	default:
		return fmt.Errorf("Unable to locate package %s", pkg)
	}
}

// installMongoPackage lays down what the mongodb-org packages install: the
// binaries, the mongod unit, a default /etc/mongod.conf (loopback only,
// no authorization) and the data and log directories. The package does not
// enable or start the service.
func installMongoPackage(e *Env) error {
	unit := "[Unit]\nDescription=MongoDB Database Server\nAfter=network-online.target\n\n[Service]\nUser=mongodb\nExecStart=/usr/bin/mongod --config /etc/mongod.conf\n\n[Install]\nWantedBy=multi-user.target\n"
	if err := os.WriteFile(e.Path("/lib/systemd/system/mongod.service"), []byte(unit), 0o644); err != nil {
		return err
	}
	for _, d := range []string{"/var/lib/mongodb", "/var/log/mongodb"} {
		if err := os.MkdirAll(e.Path(d), 0o755); err != nil {
			return err
		}
	}
	if _, err := os.Stat(e.Path("/etc/mongod.conf")); errors.Is(err, os.ErrNotExist) {
		conf := fmt.Sprintf("storage:\n  dbPath: %s\nsystemLog:\n  destination: file\n  path: %s\nnet:\n  port: 27017\n  bindIp: 127.0.0.1\n",
			e.Path("/var/lib/mongodb"), e.Path("/var/log/mongodb/mongod.log"))
		if err := os.WriteFile(e.Path("/etc/mongod.conf"), []byte(conf), 0o644); err != nil {
			return err
		}
	}
	return markInstalled(e, "mongodb-org")
}

// snapCmd models snap install: the store is out of reach in the sandbox, as
// it is for a node without internet access.
func snapCmd(e *Env, args []string) int {
	e.Errorf("error: cannot install %q: the snap store is not reachable from the sandbox", strings.Join(args, " "))
	return 1
}

// gpgCmd models `gpg --dearmor -o FILE` (gpg(1)): it reads an ASCII-armored
// key on standard input and writes the binary keyring; anything that is not
// an armored key is refused, as gpg refuses it.
func gpgCmd(e *Env, args []string) int {
	out, dearmor := "", false
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--dearmor", "--dearmour":
			dearmor = true
		case "-o", "--output":
			if i+1 < len(args) {
				out = args[i+1]
				i++
			}
		}
	}
	if !dearmor || out == "" {
		e.Errorf("gpg: the sandbox models only --dearmor -o FILE")
		return 2
	}
	in, _ := io.ReadAll(e.Stdin)
	if !strings.Contains(string(in), "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		e.Errorf("gpg: no valid OpenPGP data found.")
		return 2
	}
	if err := os.MkdirAll(filepath.Dir(e.Path(out)), 0o755); err != nil {
		e.Errorf("gpg: %v", err)
		return 2
	}
	if err := os.WriteFile(e.Path(out), append([]byte("\x99keyring:"), in...), 0o644); err != nil {
		e.Errorf("gpg: %v", err)
		return 2
	}
	return 0
}

// lsbRelease answers `lsb_release -cs` from /etc/os-release.
func lsbRelease(e *Env, args []string) int {
	b, _ := os.ReadFile(e.Path("/etc/os-release"))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VERSION_CODENAME="); ok {
			fmt.Fprintln(e.Stdout, v)
			return 0
		}
	}
	return 1
}

// chownCmd accepts ownership changes: the sandbox runs as one user. It
// still fails, as chown does, on a path that does not exist.
func chownCmd(e *Env, args []string) int {
	var paths []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			paths = append(paths, a)
		}
	}
	if len(paths) < 2 {
		e.Errorf("chown: missing operand")
		return 1
	}
	for _, p := range paths[1:] {
		if _, err := os.Stat(e.Path(p)); err != nil {
			e.Errorf("chown: cannot access '%s': No such file or directory", p)
			return 1
		}
	}
	return 0
}

// cloudInit answers `cloud-init status`: user data runs once per instance,
// so on a node whose scripts ran the status is done.
func cloudInit(e *Env, args []string) int {
	fmt.Fprintln(e.Stdout, "status: done")
	return 0
}

// ----- time -----------------------------------------------------------------

// sleepCmd advances the node's virtual clock by its argument (seconds, with
// an optional s/m/h suffix, as sleep(1) takes) and sleeps a scaled-down real
// time, so that bounded waits stay bounded and fast. Block devices whose
// attachment completes in that interval appear.
func sleepCmd(e *Env, args []string) int {
	total := 0.0
	for _, a := range args {
		mult := 1.0
		switch {
		case strings.HasSuffix(a, "s"):
			a = strings.TrimSuffix(a, "s")
		case strings.HasSuffix(a, "m"):
			a, mult = strings.TrimSuffix(a, "m"), 60
		case strings.HasSuffix(a, "h"):
			a, mult = strings.TrimSuffix(a, "h"), 3600
		}
		v, err := strconv.ParseFloat(a, 64)
		if err != nil || v < 0 {
			e.Errorf("sleep: invalid time interval '%s'", a)
			return 1
		}
		total += v * mult
	}
	seconds := int(total + 0.999)
	if seconds < 1 && total > 0 {
		seconds = 1
	}
	time.Sleep(time.Duration(seconds) * e.Node.ClockScale)
	if err := e.advance(seconds); err != nil {
		e.Errorf("sleep: %v", err)
		return 1
	}
	return 0
}

// advance moves the clock on by seconds and lets due devices appear.
func (e *Env) advance(seconds int) error {
	err := e.withLock("clock", func() error {
		return os.WriteFile(e.State("clock"), []byte(strconv.Itoa(e.Now()+seconds)), 0o644)
	})
	if err != nil {
		return err
	}
	return e.appearDevices()
}

// withLock runs fn holding an exclusive lock named name on the node.
func (e *Env) withLock(name string, fn func() error) error {
	f, err := os.OpenFile(e.State(name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	return fn()
}

// ----- block devices -------------------------------------------------------

// attachment is an EBS volume attached to the node. On Nitro instances the
// volume shows up as an NVMe device some time after the attachment, with a
// udev link /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<volume id
// without dash> (AWS doc "Amazon EBS and NVMe").
type attachment struct {
	VolumeID  string `json:"volumeId"`
	VolumeDir string `json:"volumeDir"`
	Device    string `json:"device"` // e.g. /dev/nvme1n1
	AppearAt  int    `json:"appearAt"`
}

func (e *Env) attachments() []attachment {
	var out []attachment
	b, err := os.ReadFile(e.State("attachments.json"))
	if err == nil {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

func (e *Env) saveAttachments(list []attachment) error {
	b, _ := json.MarshalIndent(list, "", "  ")
	return os.WriteFile(e.State("attachments.json"), b, 0o644)
}

// appearDevices creates the device nodes of attachments whose time has come.
func (e *Env) appearDevices() error {
	now := e.Now()
	for _, a := range e.attachments() {
		if a.AppearAt > now {
			continue
		}
		dev := e.Path(a.Device)
		if _, err := os.Lstat(dev); err == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dev), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(filepath.Join(a.VolumeDir, "device"), dev); err != nil {
			return err
		}
		link := e.Path("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.ReplaceAll(a.VolumeID, "-", ""))
		if err := os.Symlink("../../"+filepath.Base(a.Device), link); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return nil
}

// AttachVolume attaches v to the node; its device appears appearAfter
// virtual seconds from now. A volume can be attached to one node at a time.
func (n *Node) AttachVolume(v *Volume, appearAfter int) {
	n.w.t.Helper()
	e := n.env()
	list := e.attachments()
	device := fmt.Sprintf("/dev/nvme%dn1", len(list)+1)
	list = append(list, attachment{VolumeID: v.ID, VolumeDir: v.dir, Device: device, AppearAt: e.Now() + appearAfter})
	if err := e.saveAttachments(list); err != nil {
		n.w.t.Fatal(err)
	}
	if err := e.appearDevices(); err != nil {
		n.w.t.Fatal(err)
	}
}

// detachAll detaches every volume: the devices disappear.
func detachAll(e *Env) {
	for _, a := range e.attachments() {
		_ = os.Remove(e.Path(a.Device))
		_ = os.Remove(e.Path("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.ReplaceAll(a.VolumeID, "-", "")))
	}
	_ = e.saveAttachments(nil)
}

// volumeOf returns the volume directory behind a device path, following
// the udev links.
func (e *Env) volumeOf(device string) (string, bool) {
	target, err := filepath.EvalSymlinks(e.Path(device))
	if err != nil || filepath.Base(target) != "device" {
		return "", false
	}
	return filepath.Dir(target), true
}

// fsSignature is what mkfs writes at the start of a device and blkid reads.
type fsSignature struct {
	Type  string `json:"type"`
	UUID  string `json:"uuid"`
	Label string `json:"label,omitempty"`
}

func readSignature(volumeDir string) (fsSignature, bool) {
	var s fsSignature
	b, err := os.ReadFile(filepath.Join(volumeDir, "device"))
	if err != nil || len(b) == 0 || json.Unmarshal(b, &s) != nil {
		return s, false
	}
	return s, true
}

// blkid models blkid(8) for the forms the scripts use: `blkid DEVICE`
// exits 2 when no file system signature is found, and `blkid -s TAG -o
// value DEVICE` prints one tag.
func blkid(e *Env, args []string) int {
	tag, valueOnly, device := "", false, ""
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-s":
			i++
			if i < len(args) {
				tag = args[i]
			}
		case "-o":
			i++
			valueOnly = i < len(args) && args[i] == "value"
		case "-p":
		default:
			device = args[i]
		}
	}
	vol, ok := e.volumeOf(device)
	if !ok {
		return 2
	}
	sig, ok := readSignature(vol)
	if !ok {
		return 2
	}
	tags := map[string]string{"UUID": sig.UUID, "TYPE": sig.Type, "LABEL": sig.Label}
	if tag != "" {
		if valueOnly {
			fmt.Fprintln(e.Stdout, tags[tag])
		} else {
			fmt.Fprintf(e.Stdout, "%s: %s=%q\n", device, tag, tags[tag])
		}
		return 0
	}
	fmt.Fprintf(e.Stdout, "%s: LABEL=%q UUID=%q TYPE=%q\n", device, sig.Label, sig.UUID, sig.Type)
	return 0
}

// mkfsXFS models mkfs.xfs(8): it refuses a device that already holds a
// file system unless forced (-f), and otherwise writes a new, empty one.
func mkfsXFS(e *Env, args []string) int {
	label, force, device := "", false, ""
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-L":
			i++
			if i < len(args) {
				label = args[i]
			}
		case "-f":
			force = true
		default:
			device = args[i]
		}
	}
	vol, ok := e.volumeOf(device)
	if !ok {
		e.Errorf("mkfs.xfs: cannot open %s: No such file or directory", device)
		return 1
	}
	if sig, has := readSignature(vol); has && !force {
		e.Errorf("mkfs.xfs: %s appears to contain an existing filesystem (%s).\nmkfs.xfs: Use the -f option to force overwrite.", device, sig.Type)
		return 1
	}
	files := filepath.Join(vol, "fs")
	if err := os.RemoveAll(files); err != nil {
		e.Errorf("mkfs.xfs: %v", err)
		return 1
	}
	if err := os.MkdirAll(files, 0o755); err != nil {
		e.Errorf("mkfs.xfs: %v", err)
		return 1
	}
	b, _ := json.Marshal(fsSignature{Type: "xfs", UUID: newUUID(), Label: label})
	if err := os.WriteFile(filepath.Join(vol, "device"), b, 0o644); err != nil {
		e.Errorf("mkfs.xfs: %v", err)
		return 1
	}
	return 0
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

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

func (e *Env) mountedAt(point string) (mountEntry, bool) {
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

func (f fstabEntry) has(option string) bool {
	for _, o := range f.Options {
		if o == option || strings.HasPrefix(o, option+"=") {
			return true
		}
	}
	return false
}

func (e *Env) fstab() []fstabEntry {
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

// resolveSpec finds the device of an fstab spec: UUID=, LABEL= or a path.
func (e *Env) resolveSpec(spec string) (string, bool) {
	key, value, tagged := strings.Cut(spec, "=")
	if !tagged {
		_, ok := e.volumeOf(spec)
		return spec, ok
	}
	for _, a := range e.attachments() {
		if _, err := os.Lstat(e.Path(a.Device)); err != nil {
			continue
		}
		sig, ok := readSignature(a.VolumeDir)
		if ok && ((key == "UUID" && sig.UUID == value) || (key == "LABEL" && sig.Label == value)) {
			return a.Device, true
		}
	}
	return "", false
}

// mountCmd models mount(8): `mount POINT` or `mount DEVICE` mounts the
// matching /etc/fstab entry, `mount DEVICE POINT` mounts directly. A device
// without a file system is refused ("wrong fs type, bad option, bad
// superblock").
func mountCmd(e *Env, args []string) int {
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
		for _, f := range e.fstab() {
			if f.Point == target || f.Spec == words[0] {
				dev, ok := e.resolveSpec(f.Spec)
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
	if err := e.mount(device, point); err != nil {
		e.Errorf("mount: %s: %v", point, err)
		return 32
	}
	return 0
}

func (e *Env) mount(device, point string) error {
	point = filepath.Clean(e.Path(point))
	if _, busy := e.mountedAt(point); busy {
		return errors.New("already mounted")
	}
	vol, ok := e.volumeOf(device)
	if !ok {
		return fmt.Errorf("special device %s does not exist", device)
	}
	if _, ok := readSignature(vol); !ok {
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

func unmountAll(e *Env) error {
	var errs []error
	for _, m := range e.mounts() {
		errs = append(errs, e.unmount(m.Point))
	}
	return errors.Join(errs...)
}

func umountCmd(e *Env, args []string) int {
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

// mountpointCmd models mountpoint(1): exit 0 when the directory is a mount
// point, 32 otherwise.
func mountpointCmd(e *Env, args []string) int {
	quiet := false
	for _, a := range args {
		if a == "-q" {
			quiet = true
			continue
		}
		if _, ok := e.mountedAt(a); ok {
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

// ----- systemd --------------------------------------------------------------

// services are the daemons the sandbox models, by unit name.
func services() map[string]service {
	return map[string]service{
		"mongod.service":   {start: mongodStart, stop: mongodStop},
		"antmedia.service": {start: amsStart, stop: amsStop},
	}
}

func unitName(name string) string {
	if strings.Contains(name, ".") {
		return name
	}
	return name + ".service"
}

// unitFile finds a unit's file: /etc/systemd/system wins over
// /lib/systemd/system (systemd.unit(5), "Unit File Load Path").
func (e *Env) unitFile(unit string) (string, bool) {
	for _, dir := range []string{"/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system"} {
		p := e.Path(dir + "/" + unit)
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// requiredMounts lists the RequiresMountsFor= paths of a unit, from its
// file and its drop-ins (<unit>.d/*.conf) (systemd.unit(5)).
func (e *Env) requiredMounts(unit string) []string {
	var files []string
	if f, ok := e.unitFile(unit); ok {
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
	for _, f := range e.fstab() {
		for _, o := range f.Options {
			if o == "x-systemd.before="+unit || o == "x-systemd.required-by="+unit {
				out = append(out, f.Point)
			}
		}
	}
	return out
}

func (e *Env) enabled(unit string) bool {
	_, err := os.Lstat(e.Path("/etc/systemd/system/multi-user.target.wants/" + unit))
	return err == nil
}

// unitStatus is the runtime state of a unit.
type unitStatus struct {
	Active string `json:"active"` // active, inactive, failed
	Since  int    `json:"since"`
}

func (e *Env) status(unit string) unitStatus {
	var s unitStatus
	if b, err := os.ReadFile(e.State("units/" + unit + ".json")); err == nil {
		_ = json.Unmarshal(b, &s)
	}
	if s.Active == "" {
		s.Active = "inactive"
	}
	return s
}

func (e *Env) setStatus(unit, active string) error {
	if err := os.MkdirAll(e.State("units"), 0o755); err != nil {
		return err
	}
	b, _ := json.Marshal(unitStatus{Active: active, Since: e.Now()})
	return os.WriteFile(e.State("units/"+unit+".json"), b, 0o644)
}

// startUnit starts a unit as systemd does: first the mounts it requires
// (RequiresMountsFor= implies Requires= and After= on the mount units),
// which fail when their device is absent; a failed dependency fails the
// unit without running it.
func (e *Env) startUnit(unit string) error {
	if _, ok := e.unitFile(unit); !ok {
		return fmt.Errorf("Unit %s not found.", unit)
	}
	for _, path := range e.requiredMounts(unit) {
		if err := e.ensureMounted(path); err != nil {
			_ = e.setStatus(unit, "failed")
			return fmt.Errorf("A dependency job for %s failed. See 'journalctl -xe' for details. (%v)", unit, err)
		}
	}
	svc, modelled := e.Models.Services[unit]
	if !modelled {
		return e.setStatus(unit, "active")
	}
	if e.status(unit).Active == "active" {
		return nil
	}
	if err := svc.start(e); err != nil {
		_ = e.setStatus(unit, "failed")
		return fmt.Errorf("Job for %s failed because the control process exited with error code. (%v)", unit, err)
	}
	return e.setStatus(unit, "active")
}

func (e *Env) stopUnit(unit string) error {
	if svc, ok := e.Models.Services[unit]; ok && e.status(unit).Active == "active" {
		if err := svc.stop(e); err != nil {
			return err
		}
	}
	return e.setStatus(unit, "inactive")
}

// ensureMounted mounts the file system of path (the fstab entry whose mount
// point is path or its closest parent), if it is not mounted yet.
func (e *Env) ensureMounted(path string) error {
	target := filepath.Clean(e.Path(path))
	var best *fstabEntry
	for _, f := range e.fstab() {
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
	if _, ok := e.mountedAt(best.Point); ok {
		return nil
	}
	dev, ok := e.resolveSpec(best.Spec)
	if !ok {
		return fmt.Errorf("device %s for %s did not appear", best.Spec, best.Point)
	}
	return e.mount(dev, best.Point)
}

// systemctl models the systemctl(1) verbs the scripts use.
func systemctl(e *Env, args []string) int {
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
		units[i] = unitName(u)
	}
	switch verb {
	case "daemon-reload":
		return 0
	case "enable", "disable":
		for _, u := range units {
			f, ok := e.unitFile(u)
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
					if err := e.startUnit(u); err != nil {
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
			if verb != "start" && e.status(u).Active == "active" {
				if err := e.stopUnit(u); err != nil {
					e.Errorf("%v", err)
					return 1
				}
			}
			if verb == "try-restart" {
				continue
			}
			if err := e.startUnit(u); err != nil {
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
			if err := e.stopUnit(u); err != nil {
				e.Errorf("%v", err)
				return 1
			}
		}
		return 0
	case "is-active":
		code := 0
		for _, u := range units {
			s := e.status(u).Active
			fmt.Fprintln(e.Stdout, s)
			if s != "active" {
				code = 3
			}
		}
		return code
	case "is-enabled":
		for _, u := range units {
			if !e.enabled(u) {
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

func stopAllServices(e *Env) {
	entries, _ := os.ReadDir(e.State("units"))
	for _, ent := range entries {
		unit := strings.TrimSuffix(ent.Name(), ".json")
		_ = e.stopUnit(unit)
	}
}

// ----- boot -----------------------------------------------------------------

// DeviceTimeout is how long systemd waits for the device of an fstab entry
// at boot (x-systemd.device-timeout=, 90 s by default; systemd.mount(5)).
const DeviceTimeout = 90

// boot models a systemd boot of the node. Enabled services start at once
// unless they are ordered after a mount (RequiresMountsFor=, or
// x-systemd.before= in fstab): a mount marked nofail is only wanted by
// local-fs.target, not ordered before anything (systemd.mount(5), "nofail"),
// so the boot goes on without waiting for its device. Devices appear when
// their attachment completes; mounts follow, in virtual time.
func (n *Node) boot() error {
	e := n.env()
	if err := e.appearDevices(); err != nil {
		return err
	}
	entries, _ := os.ReadDir(e.Path("/etc/systemd/system/multi-user.target.wants"))
	var waiting []string
	for _, ent := range entries {
		unit := ent.Name()
		if len(e.requiredMounts(unit)) > 0 {
			waiting = append(waiting, unit)
			continue
		}
		_ = e.startUnit(unit) // a failing unit is logged as failed; the boot goes on
	}
	// Mounts from fstab whose devices are there come up; those still
	// missing are waited for up to DeviceTimeout.
	for waited := 0; ; waited++ {
		pending := false
		for _, f := range e.fstab() {
			if f.Point == "/" || f.has("noauto") {
				continue
			}
			if _, ok := e.mountedAt(f.Point); ok {
				continue
			}
			if dev, ok := e.resolveSpec(f.Spec); ok {
				_ = e.mount(dev, f.Point)
				continue
			}
			pending = true
		}
		if !pending || waited >= DeviceTimeout {
			break
		}
		if err := e.advance(1); err != nil {
			return err
		}
	}
	for _, unit := range waiting {
		_ = e.startUnit(unit)
	}
	return nil
}

// settle lets devices that are due appear before a script starts.
func (n *Node) settle() {
	_ = n.env().appearDevices()
}

// Reboot restarts the instance (stop its running scripts first with
// Running.Stop, as the power going off would): services stop,
// file systems are unmounted and /run is emptied; then the node boots again
// with its volumes still attached, their devices reappearing after
// deviceDelay virtual seconds. User data does not run again (cloud-init runs
// it once per instance).
func (n *Node) Reboot(deviceDelay int) {
	n.w.t.Helper()
	e := n.env()
	stopAllServices(e)
	if err := unmountAll(e); err != nil {
		n.w.t.Fatalf("node %s: reboot: unmount: %v", n.ID, err)
	}
	list := e.attachments()
	for i, a := range list {
		_ = os.Remove(e.Path(a.Device))
		_ = os.Remove(e.Path("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.ReplaceAll(a.VolumeID, "-", "")))
		list[i].AppearAt = e.Now() + deviceDelay
	}
	if err := e.saveAttachments(list); err != nil {
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
	return n.env().status(unitName(unit)).Active == "active"
}

// Mounted reports the volume mounted at a path of the node, if any.
func (n *Node) Mounted(point string) (volumeID string, ok bool) {
	e := n.env()
	m, ok := e.mountedAt(point)
	if !ok {
		return "", false
	}
	return filepath.Base(m.VolumeDir), true
}

package machine

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ----- block devices -------------------------------------------------------

// Attachment is an EBS volume attached to the node. On Nitro instances the
// volume shows up as an NVMe device some time after the attachment, with a
// udev link /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_<volume id
// without dash> (AWS doc "Amazon EBS and NVMe").
type Attachment struct {
	VolumeID  string `json:"volumeId"`
	VolumeDir string `json:"volumeDir"`
	Device    string `json:"device"` // e.g. /dev/nvme1n1
	AppearAt  int    `json:"appearAt"`
}

// Attachments lists the volumes attached to the node.
func (e *Env) Attachments() []Attachment {
	var out []Attachment
	b, err := os.ReadFile(e.State("attachments.json"))
	if err == nil {
		_ = json.Unmarshal(b, &out)
	}
	return out
}

// SaveAttachments records the volumes attached to the node.
func (e *Env) SaveAttachments(list []Attachment) error {
	b, _ := json.MarshalIndent(list, "", "  ")
	return os.WriteFile(e.State("attachments.json"), b, 0o644)
}

// AppearDevices creates the device nodes of attachments whose time has come.
func (e *Env) AppearDevices() error {
	now := e.Now()
	for _, a := range e.Attachments() {
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

// DetachAll detaches every volume: the devices disappear.
func DetachAll(e *Env) {
	for _, a := range e.Attachments() {
		_ = os.Remove(e.Path(a.Device))
		_ = os.Remove(e.Path("/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.ReplaceAll(a.VolumeID, "-", "")))
	}
	_ = e.SaveAttachments(nil)
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

// ReadSignature reads the file system signature mkfs wrote on a volume,
// if any.
func ReadSignature(volumeDir string) (fsSignature, bool) {
	var s fsSignature
	b, err := os.ReadFile(filepath.Join(volumeDir, "device"))
	if err != nil || len(b) == 0 || json.Unmarshal(b, &s) != nil {
		return s, false
	}
	return s, true
}

// Blkid models blkid(8) for the forms the scripts use: `blkid DEVICE`
// exits 2 when no file system signature is found, and `blkid -s TAG -o
// value DEVICE` prints one tag.
func Blkid(e *Env, args []string) int {
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
	sig, ok := ReadSignature(vol)
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

// MkfsXFS models mkfs.xfs(8): it refuses a device that already holds a
// file system unless forced (-f), and otherwise writes a new, empty one.
func MkfsXFS(e *Env, args []string) int {
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
	if sig, has := ReadSignature(vol); has && !force {
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

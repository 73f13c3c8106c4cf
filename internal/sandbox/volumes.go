package sandbox

import (
	"fmt"
	"path/filepath"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// AttachVolume attaches v to the node; its device appears appearAfter
// virtual seconds from now. A volume can be attached to one node at a time.
func (n *Node) AttachVolume(v *Volume, appearAfter int) {
	n.w.t.Helper()
	e := n.Env()
	list := e.Attachments()
	device := fmt.Sprintf("/dev/nvme%dn1", len(list)+1)
	list = append(list, machine.Attachment{VolumeID: v.ID, VolumeDir: v.dir, Device: device, AppearAt: e.Now() + appearAfter})
	if err := e.SaveAttachments(list); err != nil {
		n.w.t.Fatal(err)
	}
	if err := e.AppearDevices(); err != nil {
		n.w.t.Fatal(err)
	}
}

// Mounted reports the volume mounted at a path of the node, if any.
func (n *Node) Mounted(point string) (volumeID string, ok bool) {
	e := n.Env()
	m, ok := e.MountedAt(point)
	if !ok {
		return "", false
	}
	return filepath.Base(m.VolumeDir), true
}

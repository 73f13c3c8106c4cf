package sandbox

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/systemd"
)

// StartUnit runs the ExecStart= program of a unit the node's scripts
// installed, in the background, as systemd starts it: at boot when the
// unit is enabled (Node.boot marks it active; the test runs it with
// StartUnit), or on `systemctl start`. The program is a script already on
// the node, its paths rooted when the user data that wrote it ran.
func (n *Node) StartUnit(unit string) *Running {
	n.w.t.Helper()
	unit = systemd.UnitName(unit)
	file, ok := systemd.UnitFile(n.Env(), unit)
	if !ok {
		n.w.t.Fatalf("node %s: unit %s not found", n.ID, unit)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		n.w.t.Fatal(err)
	}
	var exec string
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart="); ok {
			exec = strings.TrimLeft(v, "-@+!:")
		}
	}
	fields := strings.Fields(exec)
	if len(fields) != 1 || !strings.HasPrefix(fields[0], n.root+"/") {
		n.w.t.Fatalf("node %s: unit %s has ExecStart=%q; the sandbox runs one script of the node, without arguments", n.ID, unit, exec)
	}
	return n.launch(unit, fields[0])
}

// UnitEnabled reports whether a unit is enabled for multi-user.target.
func (n *Node) UnitEnabled(unit string) bool {
	_, err := os.Lstat(filepath.Join(n.root, "etc/systemd/system/multi-user.target.wants", systemd.UnitName(unit)))
	return err == nil
}

package cloudinit_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/cloudinit"
)

type node struct{ root string }

func (n node) Path(p string) string { return filepath.Join(n.root, p) }
func (n node) InstanceID() string   { return "i-0123" }

func newNode(t *testing.T) node {
	t.Helper()
	n := node{root: t.TempDir()}
	if err := os.MkdirAll(n.Path(cloudinit.ScriptsDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.Path(cloudinit.ScriptsDir+"/part-001"), []byte("#!/bin/bash\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return n
}

func status(t *testing.T, n node, args ...string) (int, string) {
	t.Helper()
	var out strings.Builder
	code := cloudinit.Status(n, args, &out, func() { t.Fatal("--wait waited on a finished boot") })
	return code, out.String()
}

// TestUserDataOncePerInstance: the semaphore is taken before the scripts
// run, so a failed or cut run is never repeated; the next boot's status is
// that boot's, in which scripts_user did not run.
func TestUserDataOncePerInstance(t *testing.T) {
	for _, how := range []string{"failed", "cut"} {
		t.Run(how, func(t *testing.T) {
			n := newNode(t)
			if err := cloudinit.Booted(n); err != nil {
				t.Fatal(err)
			}
			f, err := cloudinit.BeginFinal(n)
			if err != nil || len(f.Scripts) != 1 {
				t.Fatalf("first boot: scripts %v, %v; want the user data", f.Scripts, err)
			}
			if _, err := os.Stat(n.Path(cloudinit.SemaphorePath(n.InstanceID()))); err != nil {
				t.Fatalf("the semaphore is not taken while the scripts run: %v", err)
			}
			if how == "failed" {
				if code, _ := f.End([]string{"part-001"}, nil); code != 1 {
					t.Fatalf("final stage of a failed script: exit %d, want 1", code)
				}
				if code, out := status(t, n); code != 1 || !strings.Contains(out, "status: error") {
					t.Fatalf("status after a failed script: %d %q, want 1 and error", code, out)
				}
			} else if r := cloudinit.Read(n); r.Running != cloudinit.Running {
				t.Fatalf("status while the script runs: %v", r)
			}
			// Reboot: /run is emptied, the stages run again.
			if err := os.RemoveAll(n.Path("/run")); err != nil {
				t.Fatal(err)
			}
			if err := cloudinit.Booted(n); err != nil {
				t.Fatal(err)
			}
			f, err = cloudinit.BeginFinal(n)
			if err != nil || len(f.Scripts) != 0 {
				t.Fatalf("second boot runs %v (%v); want nothing: user data runs once per instance", f.Scripts, err)
			}
			if code, _ := f.End(nil, nil); code != 0 {
				t.Fatalf("second boot's final stage: exit %d", code)
			}
			if code, out := status(t, n, "--wait"); code != 0 || !strings.Contains(out, "status: done") {
				t.Fatalf("status after the reboot: %d %q, want 0 and done", code, out)
			}
		})
	}
}

// TestStatusDegraded: recoverable errors print "done" and exit 2.
func TestStatusDegraded(t *testing.T) {
	n := newNode(t)
	if err := cloudinit.Booted(n); err != nil {
		t.Fatal(err)
	}
	f, _ := cloudinit.BeginFinal(n)
	if _, err := f.End(nil, []string{"DEPRECATED: key 'x'"}); err != nil {
		t.Fatal(err)
	}
	if code, out := status(t, n, "--long"); code != 2 || !strings.Contains(out, "status: done") || !strings.Contains(out, "degraded done") {
		t.Fatalf("degraded boot: %d %q, want 2, status done, extended degraded done", code, out)
	}
}

package systemd_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/systemd"
)

// fakeHost runs ExecStart= programs as Go functions, by command line.
type fakeHost struct {
	root  string
	mu    sync.Mutex
	progs map[string]func(ctx context.Context, unit string, out io.Writer) int
	clock int
	m     *systemd.Manager
	runs  []string
}

type fakeProc struct{ cancel context.CancelFunc }

func (p fakeProc) Kill() { p.cancel() }

func (h *fakeHost) Path(p string) string { return filepath.Join(h.root, p) }
func (h *fakeHost) Now() int             { return h.clock }
func (h *fakeHost) Mounts(string, []string) (bool, error) {
	return true, nil
}

func (h *fakeHost) Exec(unit, command string, out io.Writer, exited func(int)) (systemd.Process, error) {
	prog, ok := h.progs[command]
	if !ok {
		return nil, fmt.Errorf("no program %s", command)
	}
	h.mu.Lock()
	h.runs = append(h.runs, unit)
	h.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		code := prog(ctx, unit, out)
		if ctx.Err() != nil {
			code = -1
		}
		cancel()
		exited(code)
	}()
	return fakeProc{cancel}, nil
}

func (h *fakeHost) write(t *testing.T, path, text string) {
	t.Helper()
	p := h.Path(path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func newHost(t *testing.T) *fakeHost {
	t.Helper()
	h := &fakeHost{root: t.TempDir(), progs: map[string]func(context.Context, string, io.Writer) int{}}
	h.write(t, "/lib/systemd/system/multi-user.target", "[Unit]\nDescription=Multi-User System\n")
	h.m = systemd.NewManager(h, nil, time.Millisecond)
	t.Cleanup(h.m.Close)
	return h
}

// systemctl runs a systemctl command line as a process of unit would.
func (h *fakeHost) systemctl(unit string, out io.Writer, args ...string) int {
	return h.m.Systemctl(unit, args, out, out)
}

// v14Units reads the units ams-bootstrap.sh installs at main (stop 14)
// from its rendered user data: ams-node.service is a oneshot whose script
// ends with `systemctl enable --now ams-agent.service`, and
// ams-agent.service is ordered after it.
func v14Units(t *testing.T) (node, agent string) {
	t.Helper()
	b, err := os.ReadFile("../../../tests/testdata/v14/ams-origin.sh")
	if err != nil {
		t.Fatal(err)
	}
	unit := func(name string) string {
		_, rest, ok := strings.Cut(string(b), `cat >"$UNIT_DIR/`+name+`" <<'UNIT'`+"\n")
		body, _, ok2 := strings.Cut(rest, "\nUNIT\n")
		if !ok || !ok2 {
			t.Fatalf("stop 14's user data writes no %s", name)
		}
		return body + "\n"
	}
	return unit("ams-node.service"), unit("ams-agent.service")
}

func (h *fakeHost) installAMSUnits(t *testing.T, node, agent string, startAgent []string) {
	t.Helper()
	h.write(t, "/etc/systemd/system/ams-node.service", node)
	h.write(t, "/etc/systemd/system/ams-agent.service", agent)
	h.progs["/usr/local/lib/ams-bootstrap/ams-node.sh"] = func(ctx context.Context, unit string, out io.Writer) int {
		fmt.Fprintln(out, "joining")
		return h.systemctl(unit, out, startAgent...)
	}
	h.progs["/usr/local/lib/ams-bootstrap/ams-agent.sh"] = func(ctx context.Context, unit string, out io.Writer) int {
		<-ctx.Done()
		return 0
	}
}

// TestAMSNodeAgentDeadlock: with the units as they are at main, a reboot
// (both units enabled) and a start where only ams-node is enabled (a node
// leaving the warm pool) both deadlock: the blocking start of ams-agent
// from inside ams-node's oneshot job waits for a job held back by that
// very job.
func TestAMSNodeAgentDeadlock(t *testing.T) {
	for _, enabled := range [][]string{{"ams-node.service", "ams-agent.service"}, {"ams-node.service"}} {
		t.Run(strings.Join(enabled, "+"), func(t *testing.T) {
			h := newHost(t)
			node, agent := v14Units(t)
			h.installAMSUnits(t, node, agent, []string{"enable", "--now", "ams-agent.service"})
			for _, u := range enabled {
				if code := h.systemctl("", io.Discard, "enable", u); code != 0 {
					t.Fatalf("enable %s: exit %d", u, code)
				}
			}
			h.m.Boot()
			if !h.m.WaitIdle(5 * time.Second) {
				// The deadlock is reported: systemctl exited 1, ams-node
				// failed and the agent's job ran after it.
				t.Logf("jobs: %v", h.m.Jobs())
			}
			d := h.m.Deadlocks()
			if len(d) != 1 || d[0].Caller != "ams-node.service" || !strings.Contains(d[0].String(), "ams-agent.service/start -> ams-node.service/start") {
				t.Fatalf("deadlocks = %v, want ams-node's systemctl waiting on ams-agent waiting on ams-node", d)
			}
			if s := h.m.State("ams-node.service"); s.Active != "failed" {
				t.Errorf("ams-node.service is %+v, want failed (its systemctl exited 1)", s)
			}
			if j := h.m.Journal("ams-node.service"); !strings.Contains(j, "never returns") {
				t.Errorf("ams-node's journal does not explain the deadlock:\n%s", j)
			}
		})
	}
}

// TestAgentStartedWithoutDeadlock: the agent enabled for the target,
// conditioned on the join marker and started with --no-block from
// ams-node: a reboot starts both, in order, and nothing waits.
func TestAgentStartedWithoutDeadlock(t *testing.T) {
	h := newHost(t)
	node, agent := v14Units(t)
	agent = strings.Replace(agent, "[Service]", "ConditionPathExists=/var/lib/ams-node/joined\n\n[Service]", 1)
	h.installAMSUnits(t, node, agent, []string{"start", "--no-block", "ams-agent.service"})
	h.write(t, "/var/lib/ams-node/joined", "yes")
	for _, u := range []string{"ams-node.service", "ams-agent.service"} {
		h.systemctl("", io.Discard, "enable", u)
	}
	h.m.Boot()
	if !h.m.WaitIdle(5 * time.Second) {
		t.Fatalf("jobs left: %v", h.m.Jobs())
	}
	if d := h.m.Deadlocks(); len(d) > 0 {
		t.Fatalf("deadlocks: %v", d)
	}
	for _, u := range []string{"ams-node.service", "ams-agent.service", "multi-user.target"} {
		if s := h.m.State(u); s.Active != "active" {
			t.Errorf("%s is %+v, want active", u, s)
		}
	}
	if strings.Join(h.runs, " ") != "ams-node.service ams-agent.service" {
		t.Errorf("processes ran in order %v, want ams-node then ams-agent (After=)", h.runs)
	}
}

// TestConditionSkipsUnit: an unmet ConditionPathExists= skips the unit
// without failing it (systemd.unit(5)).
func TestConditionSkipsUnit(t *testing.T) {
	h := newHost(t)
	node, agent := v14Units(t)
	agent = strings.Replace(agent, "[Service]", "ConditionPathExists=/var/lib/ams-node/joined\n\n[Service]", 1)
	h.installAMSUnits(t, node, agent, []string{"start", "--no-block", "ams-agent.service"})
	h.systemctl("", io.Discard, "enable", "ams-agent.service")
	h.m.Boot()
	h.m.WaitIdle(5 * time.Second)
	if s := h.m.State("ams-agent.service"); s.Active != "inactive" || !s.Skipped {
		t.Errorf("ams-agent.service is %+v, want inactive and skipped", s)
	}
}

// TestOneshotJobLastsUntilExit: a blocking start of a oneshot returns when
// its program exits, with its status; RemainAfterExit keeps it active;
// a unit ordered after it waits.
func TestOneshotJobLastsUntilExit(t *testing.T) {
	h := newHost(t)
	release := make(chan struct{})
	h.write(t, "/etc/systemd/system/first.service", "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/first\n")
	h.write(t, "/etc/systemd/system/second.service", "[Unit]\nAfter=first.service\n[Service]\nType=oneshot\nExecStart=/second\n")
	h.progs["/first"] = func(ctx context.Context, _ string, _ io.Writer) int { <-release; return 0 }
	h.progs["/second"] = func(context.Context, string, io.Writer) int { return 3 }
	done := make(chan int)
	go func() { done <- h.systemctl("", io.Discard, "start", "first.service") }()
	time.Sleep(50 * time.Millisecond)
	if code := h.systemctl("", io.Discard, "start", "--no-block", "second.service"); code != 0 {
		t.Fatalf("--no-block start: exit %d", code)
	}
	select {
	case code := <-done:
		t.Fatalf("blocking start returned (%d) before the oneshot's program exited", code)
	case <-time.After(100 * time.Millisecond):
	}
	if s := h.m.State("second.service"); s.Active != "inactive" || !s.Job {
		t.Errorf("second.service is %+v, want a job waiting for first.service", s)
	}
	close(release)
	if code := <-done; code != 0 {
		t.Fatalf("blocking start of first: exit %d", code)
	}
	if s := h.m.WaitUnit("second.service", 5*time.Second); s.Active != "failed" || s.Result != "exit-code" {
		t.Errorf("second.service is %+v, want failed with exit-code", s)
	}
	if s := h.m.State("first.service"); s.Active != "active" {
		t.Errorf("first.service is %+v, want active (RemainAfterExit=yes)", s)
	}
	var out strings.Builder
	if code := h.systemctl("", &out, "restart", "second.service"); code != 1 || !strings.Contains(out.String(), "Job for second.service failed") {
		t.Errorf("restart of a failing oneshot: exit %d, %q; want 1 and Job for ... failed", code, out.String())
	}
}

// TestRestartOnFailureBounded: Restart=on-failure restarts a failing
// oneshot after RestartSec, until it succeeds; a start limit stops it.
func TestRestartOnFailureBounded(t *testing.T) {
	h := newHost(t)
	var mu sync.Mutex
	tries := 0
	h.write(t, "/etc/systemd/system/boot.service", "[Unit]\nStartLimitIntervalSec=0\n[Service]\nType=oneshot\nRemainAfterExit=yes\nRestart=on-failure\nRestartSec=1\nExecStart=/boot\n")
	h.progs["/boot"] = func(context.Context, string, io.Writer) int {
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries < 3 {
			return 1
		}
		return 0
	}
	if code := h.systemctl("", io.Discard, "start", "boot.service"); code != 1 {
		t.Fatalf("blocking start of a failing attempt: exit %d, want 1 (the job fails with the attempt)", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.m.State("boot.service").Active != "active" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if s := h.m.State("boot.service"); s.Active != "active" || tries != 3 {
		t.Errorf("boot.service is %+v after %d tries, want active after 3", s, tries)
	}
}

// TestSelfStartFromOneshotDeadlocks: a oneshot that starts, blocking, a
// unit ordered after cloud-final from cloud-final deadlocks too.
func TestUserDataBlockingOnLaterUnitDeadlocks(t *testing.T) {
	h := newHost(t)
	h.write(t, "/lib/systemd/system/cloud-final.service", "[Unit]\nAfter=multi-user.target\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/user-data\n")
	h.write(t, "/etc/systemd/system/late.service", "[Unit]\nAfter=cloud-final.service\n[Service]\nType=oneshot\nExecStart=/late\n")
	h.progs["/late"] = func(context.Context, string, io.Writer) int { return 0 }
	h.progs["/user-data"] = func(ctx context.Context, unit string, out io.Writer) int {
		return h.systemctl(unit, out, "start", "late.service")
	}
	h.m.Boot("cloud-final.service")
	h.m.WaitIdle(5 * time.Second)
	if d := h.m.Deadlocks(); len(d) != 1 || d[0].Caller != "cloud-final.service" {
		t.Fatalf("deadlocks = %v, want one from cloud-final.service", d)
	}
}

package systemd

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Host is what the manager needs of its node.
type Host interface {
	// Path maps an absolute path of the node to the host's file system.
	Path(p string) string
	// Exec runs a unit's ExecStart= command line as a process of that unit,
	// its output going to out, and calls exited with the exit status (-1
	// when it was killed) once it has ended.
	Exec(unit, command string, out io.Writer, exited func(status int)) (Process, error)
	// Mounts makes the file systems holding paths available to unit
	// (RequiresMountsFor=): ready is false while a device is still
	// awaited; err says that it never will be.
	Mounts(unit string, paths []string) (ready bool, err error)
	// Now is the node's clock, in virtual seconds.
	Now() int
}

// Process is a running ExecStart= program.
type Process interface {
	// Kill ends the process and its children at once, without waiting.
	Kill()
}

// Daemon is a service whose start and stop the sandbox models in process
// (mongod, antmedia) instead of running a program.
type Daemon struct {
	Start func() error
	Stop  func() error
}

// Deadlock is a blocking systemctl that could never return.
type Deadlock struct {
	// Caller is the unit whose process ran systemctl.
	Caller string
	// Command is the systemctl command line.
	Command string
	// Cycle names the jobs that wait on each other, starting and ending
	// with the caller's.
	Cycle []string
}

func (d Deadlock) String() string {
	return fmt.Sprintf("deadlock: `%s` run by %s waits for %s", d.Command, d.Caller, strings.Join(d.Cycle, " -> "))
}

// Manager is the service manager of one node: PID 1's job queue and unit
// states.
type Manager struct {
	host    Host
	daemons map[string]Daemon
	scale   time.Duration
	clock   Clock

	mu        sync.Mutex
	nextJob   int
	units     map[string]*unitState
	queue     []*job
	calls     []*call
	deadlocks []Deadlock
	closed    bool
	changed   chan struct{}
}

// unitState is a unit's runtime state (systemctl show: ActiveState, Result).
type unitState struct {
	unit    *Unit
	active  string // inactive, activating, active, failed
	result  string // success, exit-code, signal, start-limit-hit, dependency
	skipped bool   // a condition failed at the last start
	job     *job
	proc    Process
	gen     int // counts starts: an exit of an older process is ignored
	starts  []int
	restart interface{ Stop() bool }
	journal *journal
}

type job struct {
	id      int
	unit    string
	restart bool // a restart job not yet past its stop
	running bool
	result  string // done, failed, dependency, canceled
	done    chan struct{}
}

func (j *job) String() string { return j.unit + "/start" }

// call is a blocking systemctl waiting for its jobs.
type call struct {
	caller, command string
	jobs            []*job
	deadlock        chan Deadlock
}

// NewManager makes the service manager of a node. daemons are the modelled
// services by unit name; scale is the real time of one virtual second
// (for RestartSec=).
func NewManager(host Host, daemons map[string]Daemon, scale time.Duration) *Manager {
	return &Manager{host: host, daemons: daemons, scale: scale, units: map[string]*unitState{}, changed: make(chan struct{})}
}

// Clock is a clock that the node shares with its world, which moves only
// while nothing in the world works: the manager reports its work to it
// and waits on it for RestartSec=.
type Clock interface {
	// Begin and End count work the world waits for.
	Begin()
	End()
	// After calls f once seconds have passed, unless stopped first.
	After(seconds int, f func()) interface{ Stop() bool }
}

// SetClock makes the manager report its work to c and wait on it for
// RestartSec=, instead of sleeping the scaled real time. Set it before
// the manager serves.
func (m *Manager) SetClock(c Clock) { m.clock = c }

// after calls f once seconds of the node's time have passed.
func (m *Manager) after(seconds int, f func()) interface{ Stop() bool } {
	if m.clock != nil {
		return m.clock.After(seconds, f)
	}
	return time.AfterFunc(time.Duration(seconds)*m.scale, f)
}

func (m *Manager) state(name string) *unitState {
	s, ok := m.units[name]
	if !ok {
		s = &unitState{active: "inactive", journal: &journal{}}
		m.units[name] = s
	}
	return s
}

// load reads a unit's configuration as it is on disk now, with the
// dependencies its install links and its type imply.
func (m *Manager) load(name string) (*Unit, error) {
	u, ok, err := LoadUnit(m.host.Path, name)
	if err != nil {
		return nil, err
	}
	_, daemon := m.daemons[name]
	if !ok && !daemon && !u.IsTarget() {
		return nil, fmt.Errorf("Unit %s not found.", name)
	}
	u.Wants = append(u.Wants, m.installedWants(name)...)
	if u.IsTarget() {
		// systemd.target(5), "Default Dependencies": a target is ordered
		// after the units it wants.
		u.After = append(u.After, u.Wants...)
		u.After = append(u.After, u.Requires...)
	}
	return u, nil
}

// installedWants lists the units linked in <name>.wants/ directories
// (what `systemctl enable` of a WantedBy=<name> unit created).
func (m *Manager) installedWants(name string) []string {
	var out []string
	for _, dir := range LoadPath {
		entries, _ := os.ReadDir(m.host.Path(dir + "/" + name + ".wants"))
		for _, e := range entries {
			if !slices.Contains(out, e.Name()) {
				out = append(out, e.Name())
			}
		}
	}
	sort.Strings(out)
	return out
}

// enqueue adds a start (or restart) job for name and, as a transaction
// does, start jobs for the units it Wants= and Requires=
// (transaction_add_job_and_dependencies()). A start job for an active unit
// is redundant and finishes at once (job_type_is_redundant()); a job for a
// unit that has one merges into it (job_install()).
func (m *Manager) enqueue(name string, restart bool) (*job, error) {
	st := m.state(name)
	if st.job != nil {
		if restart && !st.job.restart && !st.job.running {
			st.job.restart = true
		}
		return st.job, nil
	}
	u, err := m.load(name)
	if err != nil {
		return nil, err
	}
	st.unit = u
	m.nextJob++
	j := &job{id: m.nextJob, unit: name, restart: restart, done: make(chan struct{})}
	if !restart && st.active == "active" {
		j.result = "done"
		close(j.done)
		return j, nil
	}
	if st.restart != nil {
		st.restart.Stop()
		st.restart = nil
	}
	st.job = j
	m.queue = append(m.queue, j)
	for _, dep := range append(slices.Clone(u.Wants), u.Requires...) {
		_, _ = m.enqueue(dep, false) // a missing wanted unit is no error (systemd.unit(5), Wants=)
	}
	return j, nil
}

// runnable is job_is_runnable(): a start job waits while a unit it is
// ordered after has any job, or a unit it is ordered before has a stop
// (here: a restart not yet past its stop) job (job_compare()).
func (m *Manager) runnable(j *job) bool {
	u := m.units[j.unit].unit
	for name, o := range m.units {
		if o.job == nil || name == j.unit {
			continue
		}
		if slices.Contains(u.After, name) || (o.unit != nil && slices.Contains(o.unit.Before, j.unit)) {
			return false
		}
		if o.job.restart && (slices.Contains(u.Before, name) || (o.unit != nil && slices.Contains(o.unit.After, j.unit))) {
			return false
		}
	}
	return true
}

// waitsFor lists the jobs j cannot finish before: for a waiting job the
// jobs of the units it is ordered after; for a running job, the jobs the
// blocking systemctl calls of its unit's processes wait for.
func (m *Manager) waitsFor(j *job) []*job {
	var out []*job
	if !j.running {
		u := m.units[j.unit].unit
		for name, o := range m.units {
			if o.job != nil && name != j.unit && (slices.Contains(u.After, name) || (o.unit != nil && slices.Contains(o.unit.Before, j.unit))) {
				out = append(out, o.job)
			}
		}
		return out
	}
	for _, c := range m.calls {
		if c.caller == j.unit {
			for _, w := range c.jobs {
				if w.result == "" {
					out = append(out, w)
				}
			}
		}
	}
	return out
}

// checkDeadlocks finds blocking calls that wait, through the job graph, on
// the job of their own caller.
func (m *Manager) checkDeadlocks() {
	for _, c := range slices.Clone(m.calls) {
		st := m.units[c.caller]
		if st == nil || st.job == nil {
			continue
		}
		mine := st.job
		for _, start := range c.jobs {
			if start.result != "" {
				continue
			}
			if path := m.pathTo(start, mine, map[*job]bool{}); path != nil {
				d := Deadlock{Caller: c.caller, Command: c.command, Cycle: append([]string{mine.String()}, jobNames(path)...)}
				m.deadlocks = append(m.deadlocks, d)
				m.dropCall(c)
				c.deadlock <- d
				break
			}
		}
	}
}

func (m *Manager) pathTo(from, to *job, seen map[*job]bool) []*job {
	if from == to {
		return []*job{from}
	}
	if seen[from] {
		return nil
	}
	seen[from] = true
	for _, next := range m.waitsFor(from) {
		if p := m.pathTo(next, to, seen); p != nil {
			return append([]*job{from}, p...)
		}
	}
	return nil
}

func jobNames(js []*job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.String()
	}
	return out
}

func (m *Manager) dropCall(c *call) {
	m.calls = slices.DeleteFunc(m.calls, func(x *call) bool { return x == c })
}

// dispatch runs every runnable job, until none is left to run, then looks
// for deadlocks and wakes the waiters.
func (m *Manager) dispatch() {
	for progress := true; progress && !m.closed; {
		progress = false
		for _, j := range slices.Clone(m.queue) {
			if j.running || j.result != "" || !m.runnable(j) {
				continue
			}
			if m.run(j) {
				progress = true
			}
		}
	}
	m.checkDeadlocks()
	close(m.changed)
	m.changed = make(chan struct{})
}

// run starts j's unit; false when it must wait (a required mount's device).
func (m *Manager) run(j *job) bool {
	st := m.units[j.unit]
	u, err := m.load(j.unit)
	if err != nil {
		st.journal.printf("%v", err)
		m.finish(j, "failed")
		return true
	}
	st.unit = u
	if !u.IsTarget() {
		// RequiresMountsFor= (and fstab's x-systemd.before=, which the
		// host knows of): Requires= and After= on the mount units.
		ready, err := m.host.Mounts(j.unit, u.RequiresMountsFor)
		if !ready && err == nil {
			return false
		}
		if err != nil {
			st.active, st.result = "failed", "dependency"
			st.journal.printf("Dependency failed for %s: %v", j.unit, err)
			m.finish(j, "dependency")
			return true
		}
	}
	if j.restart {
		m.stop(j.unit)
		j.restart = false
	}
	for _, c := range u.Conditions {
		path, negate := strings.CutPrefix(c, "!")
		_, statErr := os.Stat(m.host.Path(path))
		if (statErr == nil) == negate {
			// systemd.unit(5), "Conditions": a failed condition skips the
			// unit; the job succeeds.
			st.skipped = true
			st.journal.printf("%s was skipped because of an unmet condition check (ConditionPathExists=%s).", j.unit, c)
			m.finish(j, "done")
			return true
		}
	}
	st.skipped = false
	now := m.host.Now()
	if u.StartLimitIntervalSec > 0 && u.StartLimitBurst > 0 {
		st.starts = slices.DeleteFunc(st.starts, func(t int) bool { return t <= now-u.StartLimitIntervalSec })
		if len(st.starts) >= u.StartLimitBurst {
			st.active, st.result = "failed", "start-limit-hit"
			st.journal.printf("%s: Start request repeated too quickly.", j.unit)
			m.finish(j, "failed")
			return true
		}
	}
	st.starts = append(st.starts, now)
	if d, ok := m.daemons[j.unit]; ok {
		if err := d.Start(); err != nil {
			st.active, st.result = "failed", "exit-code"
			st.journal.printf("%v", err)
			m.finish(j, "failed")
			return true
		}
		st.active, st.result = "active", "success"
		m.finish(j, "done")
		return true
	}
	if u.IsTarget() || u.ExecStart == "" && u.Type == TypeOneshot && u.RemainAfterExit {
		st.active, st.result = "active", "success"
		m.finish(j, "done")
		return true
	}
	if u.ExecStart == "" {
		st.active, st.result = "failed", "resources"
		st.journal.printf("%s: Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.", j.unit)
		m.finish(j, "failed")
		return true
	}
	st.gen++
	gen, name := st.gen, j.unit
	var out io.Writer = st.journal
	var file *os.File
	if path, ok := strings.CutPrefix(u.StandardOutput, "append:"); ok {
		// systemd.exec(5), StandardOutput=append:path.
		if file, err = os.OpenFile(m.host.Path(path), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			out = io.MultiWriter(st.journal, file)
		}
	}
	proc, err := m.host.Exec(name, u.ExecStart, out, func(status int) {
		if file != nil {
			file.Close()
		}
		m.exited(name, gen, status)
	})
	if err != nil {
		st.active, st.result = "failed", "resources"
		st.journal.printf("%s: Failed to execute %s: %v", name, u.ExecStart, err)
		m.finish(j, "failed")
		return true
	}
	st.proc = proc
	if u.Type == TypeOneshot {
		// service.c: a oneshot unit is activating until its process exits,
		// and its start job runs as long.
		st.active = "activating"
		j.running = true
		return true
	}
	// Type=simple: started as soon as the process is forked.
	st.active, st.result = "active", "success"
	m.finish(j, "done")
	return true
}

// exited handles the end of a unit's process.
func (m *Manager) exited(name string, gen, status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.units[name]
	if st == nil || st.gen != gen || m.closed {
		return
	}
	st.proc = nil
	u := st.unit
	ok := status == 0
	switch {
	case ok && u.Type == TypeOneshot && u.RemainAfterExit:
		st.active, st.result = "active", "success"
	case ok:
		st.active, st.result = "inactive", "success"
	case status < 0:
		st.active, st.result = "failed", "signal"
	default:
		st.active, st.result = "failed", "exit-code"
	}
	if !ok {
		st.journal.printf("%s: Main process exited, status=%d/FAILURE", name, status)
	}
	if st.job != nil && st.job.running {
		if ok {
			m.finish(st.job, "done")
		} else {
			m.finish(st.job, "failed")
		}
	}
	if u.Restart == "always" || (u.Restart == "on-failure" && !ok) || (u.Restart == "on-success" && ok) {
		st.journal.printf("%s: Scheduled restart job in %ds.", name, u.RestartSec)
		st.restart = m.after(u.RestartSec, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.closed || st.restart == nil {
				return
			}
			st.restart = nil
			if _, err := m.enqueue(name, false); err == nil {
				m.dispatch()
			}
		})
	}
	m.dispatch()
}

// finish ends a job; a failed start fails, recursively, the waiting jobs
// of units that Require= it (job_finish_and_invalidate(), recursive).
func (m *Manager) finish(j *job, result string) {
	j.result = result
	j.running = false
	close(j.done)
	m.queue = slices.DeleteFunc(m.queue, func(x *job) bool { return x == j })
	if st := m.units[j.unit]; st != nil && st.job == j {
		st.job = nil
	}
	if result == "done" {
		return
	}
	for name, o := range m.units {
		if o.job != nil && !o.job.running && o.unit != nil && slices.Contains(o.unit.Requires, j.unit) {
			o.active, o.result = "failed", "dependency"
			o.journal.printf("Dependency failed for %s.", name)
			m.finish(o.job, "dependency")
		}
	}
}

// stop stops a unit at once: its process is killed, a pending restart
// dropped, a running start job canceled.
func (m *Manager) stop(name string) {
	st := m.state(name)
	if st.restart != nil {
		st.restart.Stop()
		st.restart = nil
	}
	if st.proc != nil {
		st.proc.Kill()
		st.proc = nil
	}
	st.gen++
	if d, ok := m.daemons[name]; ok && st.active == "active" {
		if err := d.Stop(); err != nil {
			st.journal.printf("%v", err)
		}
	}
	if st.job != nil && st.job.running {
		m.finish(st.job, "canceled")
	}
	st.active = "inactive"
}

// Boot starts default.target (multi-user.target) and the given units, as
// the manager does at every boot (bootup(7)). It returns once every job
// that could run at once has been started.
func (m *Manager) Boot(units ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range append([]string{"multi-user.target"}, units...) {
		if _, err := m.enqueue(u, false); err != nil {
			m.state(u).journal.printf("%v", err)
		}
	}
	m.dispatch()
}

// Kick re-examines waiting jobs: call it when something a job waits for
// outside the manager (a device, a mount) has changed.
func (m *Manager) Kick() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dispatch()
}

// PowerOff ends everything at once, as a power cut or a reboot does: every
// process is killed, every job dropped, every unit inactive. Modelled
// daemons are stopped.
func (m *Manager) PowerOff() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for name := range m.units {
		m.stop(name)
	}
	for _, j := range m.queue {
		j.result = "canceled"
		close(j.done)
	}
	m.queue = nil
	for name, st := range m.units {
		st.job = nil
		st.starts = nil
		st.skipped = false
		st.result = ""
		m.units[name] = st
	}
	for _, c := range m.calls {
		close(c.deadlock)
	}
	m.calls = nil
	close(m.changed)
	m.changed = make(chan struct{})
}

// Close powers the node off for good: no restart is scheduled any more.
func (m *Manager) Close() {
	m.PowerOff()
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
}

// Deadlocks lists the deadlocks found so far.
func (m *Manager) Deadlocks() []Deadlock {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.deadlocks)
}

// UnitState is what `systemctl show` says of a unit.
type UnitState struct {
	// Active is inactive, activating, active or failed (ActiveState=).
	Active string
	// Result is success, exit-code, signal, start-limit-hit, dependency.
	Result string
	// Skipped reports that a condition skipped the last start.
	Skipped bool
	// Job reports that a job for the unit is queued or running.
	Job bool
	// RestartPending reports a scheduled automatic restart.
	RestartPending bool
}

// State reports a unit's state.
func (m *Manager) State(name string) UnitState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.state(UnitName(name))
	return UnitState{Active: st.active, Result: st.result, Skipped: st.skipped, Job: st.job != nil, RestartPending: st.restart != nil}
}

// Journal is what a unit's processes and the manager wrote about it.
func (m *Manager) Journal(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state(UnitName(name)).journal.String()
}

// Jobs lists the queued and running jobs.
func (m *Manager) Jobs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for _, j := range m.queue {
		state := "waiting"
		if j.running {
			state = "running"
		}
		out = append(out, j.String()+" "+state)
	}
	return out
}

// WaitIdle waits until no job is left or timeout passes; it reports
// whether the queue is empty.
func (m *Manager) WaitIdle(timeout time.Duration) bool {
	return m.waitFor(timeout, func() bool { return len(m.queue) == 0 })
}

// WaitUnit waits until name has no job and no pending restart, or timeout
// passes, and returns its state.
func (m *Manager) WaitUnit(name string, timeout time.Duration) UnitState {
	name = UnitName(name)
	m.waitFor(timeout, func() bool {
		st := m.state(name)
		return st.job == nil && st.restart == nil
	})
	return m.State(name)
}

func (m *Manager) waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.After(timeout)
	for {
		m.mu.Lock()
		ok, changed := cond(), m.changed
		m.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-changed:
		case <-deadline:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// journal is a unit's log, written by its processes and the manager.
type journal struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (j *journal) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.buf.Write(p)
}

func (j *journal) printf(format string, args ...any) {
	_, _ = fmt.Fprintf(j, "systemd[1]: "+format+"\n", args...)
}

func (j *journal) String() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.buf.String()
}

// enabledLink is the path of the install link of unit for target.
func enabledLink(target, unit string) string {
	return filepath.Join("/etc/systemd/system", target+".wants", unit)
}

package sandbox

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The world's one clock. Without it each node has a clock of its own,
// moved by its own sleeps at a scaled-down real time: a node that waits
// for another spends its bounded wait while the other spends real time
// (its process starts), so under load a wait can run out that on real
// machines would not. With it (World.ShareClock), virtual time is the
// same for every node and every AWS stand-in, and it moves only when
// every process of the world waits: the classic discrete-event rule.
// A sleep (sleep(1), mongosh's sleep(), a write concern's wtimeout, a
// unit's RestartSec=) is a wake-up time on the world's clock; when no
// process is runnable and no model is answering a request, the clock
// jumps to the earliest wake-up. So no bounded wait runs out while
// another node still works, however slow the host, and a sleep costs a
// few milliseconds of real time, whatever its length.
//
// "Every process waits" is read from the kernel: a world's processes
// are the trees of the scripts and units it started (/proc/PID/task/TID/
// children), and a process waits when none of its threads is running or
// runnable (state R) or in uninterruptible sleep (D) in /proc/PID/task/
// TID/stat (proc(5)). The models in the test process count themselves
// busy while they answer (clockActivity), and a woken sleeper counts
// busy until its answer is on its way. The rule must hold at quietPolls
// polls in a row, so that a wake-up in flight between two processes
// (a loopback packet, a signal) is seen.

// quietPolls is how many polls in a row must find the world waiting
// before its clock moves; quietPoll is their spacing.
const (
	quietPolls = 3
	quietPoll  = time.Millisecond
)

// worldClock is a world's one virtual clock.
type worldClock struct {
	w   *World
	srv *httptest.Server

	mu       sync.Mutex
	now      int
	sleepers []*sleeper
	// busy counts work in the test process the world waits for: model
	// requests being answered, sleeps read but not yet on the clock (in
	// reading), woken sleepers not yet answered, processes being started
	// or reaped.
	busy    int
	reading map[net.Conn]bool
	runs    map[*Running]bool
	// ticks counts the moves of the clock, for the world's log.
	ticks int
	wake  chan struct{}
	done  chan struct{}
	// stopped is closed when loop has returned: no tick writes into the
	// nodes' roots after the world's cleanup.
	stopped chan struct{}
}

// sleeper is one wait on the world's clock.
type sleeper struct {
	until int
	woken chan struct{}
}

// ShareClock gives the world one clock for all its nodes and AWS
// stand-ins, which moves only while every process of the world waits.
// Call it before the first node launches.
func (w *World) ShareClock() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.clock != nil {
		return
	}
	if len(w.nodes) > 0 {
		w.t.Fatal("sandbox: ShareClock after a node launched")
	}
	c := &worldClock{w: w, runs: map[*Running]bool{}, reading: map[net.Conn]bool{}, wake: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{})}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(c.serveSleep))
	c.srv.Config.ConnState = c.connState
	c.srv.Config.ConnContext = func(ctx context.Context, conn net.Conn) context.Context {
		return context.WithValue(ctx, sleepConn{}, conn)
	}
	c.srv.Start()
	w.clock = c
	w.AWS.ShareClock(c)
	go c.loop()
	began := time.Now()
	w.t.Cleanup(func() {
		close(c.done)
		<-c.stopped
		c.srv.Close()
		c.mu.Lock()
		defer c.mu.Unlock()
		w.t.Logf("sandbox: the world's clock moved %d times to %d s in %.1f s of real time; its nodes ran %d commands", c.ticks, c.now, time.Since(began).Seconds(), w.commands())
	})
}

// Now is the world's time, in seconds since it began; with no shared
// clock, 0.
func (w *World) Now() int {
	c := w.sharedClock()
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (w *World) sharedClock() *worldClock {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.clock
}

// sleepConn is the context key of a sleep request's connection.
type sleepConn struct{}

// connState counts a sleep request as work from its reading until its
// wake-up is on the clock (settle): its process waits for the answer
// looking idle meanwhile.
func (c *worldClock) connState(conn net.Conn, state http.ConnState) {
	if state == http.StateActive {
		c.mu.Lock()
		c.reading[conn] = true
		c.busy++
		c.mu.Unlock()
		return
	}
	c.settle(conn)
}

// settle ends what connState counted for conn, if anything.
func (c *worldClock) settle(conn net.Conn) {
	c.mu.Lock()
	counted := c.reading[conn]
	delete(c.reading, conn)
	c.mu.Unlock()
	if counted {
		c.release()
	}
}

// serveSleep answers a sleep of a node's process: when the world's clock
// has moved on by the seconds asked.
func (c *worldClock) serveSleep(rw http.ResponseWriter, r *http.Request) {
	conn, _ := r.Context().Value(sleepConn{}).(net.Conn)
	defer c.settle(conn)
	seconds, err := strconv.Atoi(r.URL.Query().Get("seconds"))
	if err != nil || seconds < 0 {
		http.Error(rw, "seconds: want a whole number", http.StatusBadRequest)
		return
	}
	s := c.add(seconds)
	c.settle(conn)
	release, ok := c.await(s, r.Context().Done())
	if !ok {
		return
	}
	defer release()
	// The whole answer goes out with the flush, before the sleeper counts
	// idle again: no body to end later.
	rw.Header().Set("Content-Length", "0")
	rw.WriteHeader(http.StatusOK)
	if f, ok := rw.(http.Flusher); ok {
		f.Flush()
	}
}

// add registers a wake-up seconds from now.
func (c *worldClock) add(seconds int) *sleeper {
	c.mu.Lock()
	s := &sleeper{until: c.now + seconds, woken: make(chan struct{})}
	c.sleepers = append(c.sleepers, s)
	c.mu.Unlock()
	c.poke()
	return s
}

// await waits for the wake-up s. The caller counts busy once woken,
// until it calls release; false when gone is closed first (the sleeper's
// process died).
func (c *worldClock) await(s *sleeper, gone <-chan struct{}) (release func(), ok bool) {
	select {
	case <-s.woken:
		return c.release, true
	case <-gone:
	case <-c.done:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.sleepers {
		if x == s {
			c.sleepers = append(c.sleepers[:i], c.sleepers[i+1:]...)
			return nil, false
		}
	}
	// Woken meanwhile: it counted busy.
	c.busy--
	return nil, false
}

// After runs f once the clock has moved on by seconds, unless stopped
// first; the world waits for f. The wake-up is on the clock when After
// returns: called from work the world waits for (another f), it cannot
// be late.
func (c *worldClock) After(seconds int, f func()) interface{ Stop() bool } {
	t := &clockTimer{stop: make(chan struct{})}
	s := c.add(seconds)
	go func() {
		release, ok := c.await(s, t.stop)
		if !ok {
			return
		}
		defer release()
		f()
	}()
	return t
}

// clockTimer is a pending call on the world's clock.
type clockTimer struct {
	once sync.Once
	stop chan struct{}
}

// Stop cancels the call if it has not run yet.
func (t *clockTimer) Stop() bool {
	t.once.Do(func() { close(t.stop) })
	return true
}

// Begin counts model work in the test process: the world waits for it.
func (c *worldClock) Begin() {
	c.mu.Lock()
	c.busy++
	c.mu.Unlock()
}

// End ends what Begin counted.
func (c *worldClock) End() { c.release() }

func (c *worldClock) release() {
	c.mu.Lock()
	c.busy--
	c.mu.Unlock()
	c.poke()
}

func (c *worldClock) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// track counts a script's process as the world's from its start; untrack
// hands it over to the code that handles its end, which counts busy
// until it calls release.
func (c *worldClock) track(r *Running) {
	c.mu.Lock()
	c.runs[r] = true
	c.mu.Unlock()
}

func (c *worldClock) untrack(r *Running) {
	c.mu.Lock()
	if c.runs[r] {
		delete(c.runs, r)
		c.busy++
	}
	c.mu.Unlock()
}

// loop moves the clock whenever the world waits and someone sleeps.
func (c *worldClock) loop() {
	defer close(c.stopped)
	quiet := 0
	for {
		c.mu.Lock()
		pending := len(c.sleepers) > 0
		c.mu.Unlock()
		if !pending {
			quiet = 0
			select {
			case <-c.wake:
				continue
			case <-c.done:
				return
			}
		}
		select {
		case <-c.done:
			return
		case <-time.After(quietPoll):
		}
		if !c.waiting() {
			quiet = 0
			continue
		}
		if quiet++; quiet < quietPolls {
			continue
		}
		quiet = 0
		c.tick()
	}
}

// waiting reports that nothing in the world can run: no model work in
// the test process, no process of the world runnable and no request on
// its way to a model (clock_input.go).
func (c *worldClock) waiting() bool {
	c.mu.Lock()
	if c.busy > 0 {
		c.mu.Unlock()
		return false
	}
	pids := make([]int, 0, len(c.runs))
	for r := range c.runs {
		if p := r.cmd.Process; p != nil {
			pids = append(pids, p.Pid)
		}
	}
	c.mu.Unlock()
	for _, pid := range pids {
		if treeRuns(pid, true) {
			return false
		}
	}
	return !inputPending()
}

// treeRuns reports that a thread of pid or of its descendants runs or can
// run. A script's own process that has exited (a zombie) counts as
// running: the sandbox has yet to handle its end.
func treeRuns(pid int, root bool) bool {
	tasks, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "task"))
	if err != nil {
		return root // gone before the sandbox reaped it: its end is on the way
	}
	for _, t := range tasks {
		dir := filepath.Join("/proc", strconv.Itoa(pid), "task", t.Name())
		stat, err := os.ReadFile(filepath.Join(dir, "stat"))
		if err != nil {
			continue
		}
		// The state follows the command name, which is in parentheses
		// and may hold anything: read after the last ')'.
		i := strings.LastIndexByte(string(stat), ')')
		if i < 0 || i+2 >= len(stat) {
			continue
		}
		switch stat[i+2] {
		case 'R', 'D', 'W':
			return true
		case 'Z', 'X':
			if root {
				return true
			}
		}
		children, _ := os.ReadFile(filepath.Join(dir, "children"))
		for _, f := range strings.Fields(string(children)) {
			if child, err := strconv.Atoi(f); err == nil && treeRuns(child, false) {
				return true
			}
		}
	}
	return false
}

// tick moves the clock to the earliest wake-up, moves every node's clock
// with it and wakes the sleepers due.
func (c *worldClock) tick() {
	c.mu.Lock()
	next := -1
	for _, s := range c.sleepers {
		if next < 0 || s.until < next {
			next = s.until
		}
	}
	if next > c.now {
		c.now = next
	}
	c.ticks++
	now := c.now
	c.mu.Unlock()
	for _, n := range c.w.liveNodes() {
		if err := n.Env().SetClock(now - n.born); err != nil {
			c.w.t.Errorf("sandbox: node %s: moving its clock: %v", n.ID, err)
		}
	}
	c.mu.Lock()
	kept := c.sleepers[:0]
	for _, s := range c.sleepers {
		if s.until <= now {
			c.busy++
			close(s.woken)
			continue
		}
		kept = append(kept, s)
	}
	c.sleepers = kept
	c.mu.Unlock()
}

// liveNodes are the world's nodes that have not been terminated.
func (w *World) liveNodes() []*Node {
	w.mu.Lock()
	defer w.mu.Unlock()
	nodes := make([]*Node, 0, len(w.nodes))
	for _, n := range w.nodes {
		nodes = append(nodes, n)
	}
	return nodes
}

package awsapi_test

import (
	"slices"
	"sort"
	"sync"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/awsapi"
	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// stepClock is a world's one clock that the test moves: advance runs every
// call due, in time order, with each instance's clock set to the world's
// time first (the instances launched at 0).
type stepClock struct {
	mu     sync.Mutex
	now    int
	seq    int
	timers []*stepTimer
	roots  []string
}

type stepTimer struct {
	at, seq int
	f       func()
	stopped bool
}

func (c *stepClock) Begin() {}
func (c *stepClock) End()   {}

func (c *stepClock) After(seconds int, f func()) interface{ Stop() bool } {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	tm := &stepTimer{at: c.now + seconds, seq: c.seq, f: f}
	c.timers = append(c.timers, tm)
	return tm
}

func (tm *stepTimer) Stop() bool {
	was := tm.stopped
	tm.stopped = true
	return !was
}

// advance moves the clock on by seconds, running each call due on the way.
func (c *stepClock) advance(t *testing.T, seconds int) {
	t.Helper()
	end := c.now + seconds
	for {
		c.mu.Lock()
		sort.Slice(c.timers, func(i, j int) bool {
			a, b := c.timers[i], c.timers[j]
			return a.at < b.at || a.at == b.at && a.seq < b.seq
		})
		var next *stepTimer
		for len(c.timers) > 0 && next == nil {
			if tm := c.timers[0]; tm.stopped {
				c.timers = c.timers[1:]
			} else if tm.at <= end {
				next, c.timers = tm, c.timers[1:]
			} else {
				break
			}
		}
		if next == nil {
			c.now = end
		} else {
			c.now = next.at
		}
		now := c.now
		c.mu.Unlock()
		for _, root := range c.roots {
			if err := (&machine.Env{Root: root}).SetClock(now); err != nil {
				t.Fatal(err)
			}
		}
		if next == nil {
			return
		}
		next.f()
	}
}

// On a world's one clock a target group probes at its interval in virtual
// time however far the clock jumps: thresholds count every probe, and each
// change is recorded at the probe that made it. (Polled in real time, as
// instances with clocks of their own are, a jump of a minute is one probe.)
func TestTargetGroupProbesAtItsIntervalOnTheWorldClock(t *testing.T) {
	clock := &stepClock{}
	w := newHealthWorldOn(t, awsapi.HealthCheckTypeEC2, 0, clock)
	for _, root := range w.roots {
		clock.roots = append(clock.roots, root)
	}
	// Registered at 0: probes at 0 and 10 pass.
	clock.advance(t, 10)
	want := []awsapi.TargetChange{{At: 0, State: awsapi.TargetInitial, Reason: "registered"}, {At: 10, State: awsapi.TargetHealthy}}
	if got := w.a.TargetChanges("tg-edge", "i-1"); !slices.Equal(got, want) {
		t.Fatalf("i-1's target changes %v, want %v", got, want)
	}
	// The endpoint fails from 10 on; one jump of a minute holds six
	// probes: the second failure, at 30, makes the target unhealthy.
	w.ok["i-1"].Store(false)
	clock.advance(t, 60)
	got := w.a.TargetChanges("tg-edge", "i-1")
	if len(got) != 3 || got[2].At != 30 || got[2].State != awsapi.TargetUnhealthy {
		t.Fatalf("after a minute failing from 10 s i-1's target changes are %v, want unhealthy at 30", got)
	}
	// Back at 70: probes at 80 and 90 pass; healthy at 90.
	w.ok["i-1"].Store(true)
	clock.advance(t, 25)
	got = w.a.TargetChanges("tg-edge", "i-1")
	if len(got) != 4 || got[3].At != 90 || got[3].State != awsapi.TargetHealthy {
		t.Errorf("passing from 70 s i-1's target changes are %v, want healthy at 90", got)
	}
	// A target leaving InService leaves the group and its probes stop.
	w.a.SetLifecycleState("i-2", "Standby")
	clock.advance(t, 30)
	if got := w.a.TargetHealth("tg-edge", "i-2"); got != "" {
		t.Errorf("i-2 in Standby is %q in the target group, want deregistered", got)
	}
	if got := w.a.Routed("tg-edge"); !slices.Equal(got, []string{"i-1"}) {
		t.Errorf("routed %v, want i-1 alone", got)
	}
}

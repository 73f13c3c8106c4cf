package sandbox

import (
	"strings"
	"testing"
	"time"
)

// The world's one clock moves only while every process of the world
// waits: a node's bounded wait cannot run out while another node works,
// however slow the host.
func TestWorldClockWaitsForEveryProcess(t *testing.T) {
	Require(t)
	w := NewWorld(t, "eu-west-1", "123456789012")
	w.ShareClock()
	busy := w.NewNode(NodeSpec{InstanceID: "i-0000000000000000b", PrivateIP: "10.0.0.11"})
	sleepy := w.NewNode(NodeSpec{InstanceID: "i-0000000000000000a", PrivateIP: "10.0.0.10"})
	// A second of real work on one node, with no sleep in it ...
	work := busy.Start("work.sh", "#!/bin/bash\ni=0\nwhile [ $i -lt 200000 ]; do i=$((i+1)); done\necho worked\n")
	// ... while the other waits at most ten minutes of its time for it.
	wait := sleepy.Start("wait.sh", "#!/bin/bash\nfor _ in $(seq 120); do sleep 5; done\necho waited\n")
	for !work.Done() {
		if now := w.Now(); now != 0 && !work.Done() {
			t.Fatalf("the world's clock moved to %d s while a process of the world was running", now)
		}
		time.Sleep(time.Millisecond)
	}
	if res := work.Wait(); res.Err != nil || !strings.Contains(res.Output, "worked") {
		t.Fatalf("work.sh: %v\n%s", res.Err, res.Output)
	}
	if res := wait.Wait(); res.Err != nil || !strings.Contains(res.Output, "waited") {
		t.Fatalf("wait.sh: %v\n%s", res.Err, res.Output)
	}
	if got := sleepy.Clock(); got != 600 {
		t.Errorf("the waiting node's clock reads %d s after its ten minutes of sleep, want 600", got)
	}
	if got := busy.Clock(); got != 600 {
		t.Errorf("the other node's clock reads %d s, want the world's 600: one clock for every node", got)
	}
}

// A sleep costs a few milliseconds of real time, whatever its length, and
// every node's clock reads the world's time since the node launched.
func TestWorldClockSleepsAreCheap(t *testing.T) {
	Require(t)
	w := NewWorld(t, "eu-west-1", "123456789012")
	w.ShareClock()
	first := w.NewNode(NodeSpec{InstanceID: "i-0000000000000000c", PrivateIP: "10.0.0.12"})
	began := time.Now()
	if res := first.Run("day.sh", "#!/bin/bash\nsleep 1h\nsleep 23h\n"); res.Err != nil {
		t.Fatalf("day.sh: %v\n%s", res.Err, res.Output)
	}
	if real := time.Since(began); real > 30*time.Second {
		t.Errorf("a day of sleep took %s of real time", real)
	}
	later := w.NewNode(NodeSpec{InstanceID: "i-0000000000000000d", PrivateIP: "10.0.0.13"})
	if res := later.Run("minute.sh", "#!/bin/bash\nsleep 60\n"); res.Err != nil {
		t.Fatalf("minute.sh: %v\n%s", res.Err, res.Output)
	}
	if w.Now() != 86460 || first.Clock() != 86460 || later.Clock() != 60 {
		t.Errorf("the world's clock reads %d s, the first node's %d s, the later node's %d s; want 86460, 86460 and 60", w.Now(), first.Clock(), later.Clock())
	}
}

// Wall clocks agree: a node's clock reads its uptime, but its Ant Media
// Server compares a token's exp with wall time, which is the world's on
// every node (EC2 instances keep their clocks synchronised). Before,
// a node launched an hour later read a wall clock an hour behind and took
// a token that had expired on every other node.
func TestWallClocksAgreeAcrossNodes(t *testing.T) {
	Require(t)
	w := NewWorld(t, "eu-west-1", "123456789012")
	w.ShareClock()
	first := w.NewNode(NodeSpec{InstanceID: "i-0000000000000000e", PrivateIP: "10.0.0.14", Image: ImageAMS})
	if res := first.Run("hour.sh", "#!/bin/bash\nsleep 1h\n"); res.Err != nil {
		t.Fatalf("hour.sh: %v\n%s", res.Err, res.Output)
	}
	later := w.NewNode(NodeSpec{InstanceID: "i-0000000000000000f", PrivateIP: "10.0.0.15", Image: ImageAMS})
	if a, b := first.AMS().WallClock(), later.AMS().WallClock(); !a.Equal(b) || later.Clock() != 0 {
		t.Errorf("wall clocks: the first node reads %s, the node launched an hour later %s (uptime %d s); want the same time", a, b, later.Clock())
	}
}

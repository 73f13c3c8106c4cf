package machine

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Breakpoints let a test cut a node at an exact point of a model's work,
// with no race against real time: a test arms one for an event of a node
// (ArmBreakpoint); the model that makes the event happen on that node
// calls Breakpoint right after its effect is durable and before it
// answers, and the process doing it stops there, its caller still waiting
// for the answer, until the test cuts the power (which kills it).

// breakpointPath is the file that arms the breakpoint of event on the node
// at root; with ".hit" appended, the file that says a process stopped at it.
func breakpointPath(root, event string) string {
	name := strings.Map(func(r rune) rune {
		if r == '/' || r == 0 {
			return '_'
		}
		return r
	}, event)
	return filepath.Join(root, StateDir, "breakpoints", name)
}

// ArmBreakpoint arms the breakpoint of event on the node at root.
func ArmBreakpoint(root, event string) error {
	p := breakpointPath(root, event)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, nil, 0o644)
}

// BreakpointHit reports that a process stopped at the breakpoint of event
// on the node at root.
func BreakpointHit(root, event string) bool {
	_, err := os.Stat(breakpointPath(root, event) + ".hit")
	return err == nil
}

// Breakpoint is where a model's process reports event on the node at
// root: when a test armed the breakpoint, the process stops here for good
// (it waits, as far as the world's clock is concerned) and the breakpoint
// is spent.
func Breakpoint(root, event string) {
	p := breakpointPath(root, event)
	if err := os.Rename(p, p+".armed"); err != nil {
		return // not armed, or another process took it
	}
	if err := os.WriteFile(p+".hit", nil, 0o644); err != nil {
		return
	}
	for {
		time.Sleep(time.Hour)
	}
}

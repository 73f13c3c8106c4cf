package machine

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Now is the node's virtual time in seconds.
func (e *Env) Now() int {
	b, err := os.ReadFile(e.State("clock"))
	if err != nil {
		return 0
	}
	v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return v
}

// ----- time -----------------------------------------------------------------

// SleepCmd advances the node's virtual clock by its argument (seconds, with
// an optional s/m/h suffix, as sleep(1) takes) and sleeps a scaled-down real
// time, so that bounded waits stay bounded and fast. Block devices whose
// attachment completes in that interval appear.
func SleepCmd(e *Env, args []string) int {
	total := 0.0
	for _, a := range args {
		mult := 1.0
		switch {
		case strings.HasSuffix(a, "s"):
			a = strings.TrimSuffix(a, "s")
		case strings.HasSuffix(a, "m"):
			a, mult = strings.TrimSuffix(a, "m"), 60
		case strings.HasSuffix(a, "h"):
			a, mult = strings.TrimSuffix(a, "h"), 3600
		}
		v, err := strconv.ParseFloat(a, 64)
		if err != nil || v < 0 {
			e.Errorf("sleep: invalid time interval '%s'", a)
			return 1
		}
		total += v * mult
	}
	seconds := int(total + 0.999)
	if seconds < 1 && total > 0 {
		seconds = 1
	}
	time.Sleep(time.Duration(seconds) * e.Node.ClockScale)
	if err := e.Advance(seconds); err != nil {
		e.Errorf("sleep: %v", err)
		return 1
	}
	return 0
}

// Advance moves the clock on by seconds and lets due devices appear.
func (e *Env) Advance(seconds int) error {
	err := e.withLock("clock", func() error {
		return os.WriteFile(e.State("clock"), []byte(strconv.Itoa(e.Now()+seconds)), 0o644)
	})
	if err != nil {
		return err
	}
	if err := e.WriteProc(); err != nil {
		return err
	}
	return e.AppearDevices()
}

// withLock runs fn holding an exclusive lock named name on the node.
func (e *Env) withLock(name string, fn func() error) error {
	f, err := os.OpenFile(e.State(name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	defer func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }()
	return fn()
}

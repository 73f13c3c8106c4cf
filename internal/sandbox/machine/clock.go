package machine

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	if err := e.Sleep(seconds); err != nil {
		e.Errorf("sleep: %v", err)
		return 1
	}
	return 0
}

// Sleep lets seconds of the node's time pass for the caller: on a shared
// clock, until the world's clock has moved on by seconds; on the node's
// own clock, a scaled-down real time, then the clock moves on.
func (e *Env) Sleep(seconds int) error {
	if e.Node.ClockURL == "" {
		time.Sleep(time.Duration(seconds) * e.Node.ClockScale)
	}
	return e.Advance(seconds)
}

// Advance moves the clock on by seconds and lets due devices appear. On a
// shared clock it waits until the world's clock has moved on by seconds
// (the world moves the node's clock and its devices).
func (e *Env) Advance(seconds int) error {
	if e.Node.ClockURL != "" {
		return e.worldSleep(seconds)
	}
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

// worldSleep waits on the world's clock until seconds have passed.
func (e *Env) worldSleep(seconds int) error {
	if seconds <= 0 {
		return nil
	}
	resp, err := http.Get(e.Node.ClockURL + "/sleep?node=" + url.QueryEscape(e.Node.InstanceID) + "&seconds=" + strconv.Itoa(seconds))
	if err != nil {
		return fmt.Errorf("the world's clock: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the world's clock: %s", resp.Status)
	}
	return nil
}

// SetClock sets the node's clock to now, rewrites its kernel's load
// counters for it and lets due devices appear: the world's clock moving
// every node's.
func (e *Env) SetClock(now int) error {
	err := e.withLock("clock", func() error {
		tmp := e.State("clock.new")
		if err := os.WriteFile(tmp, []byte(strconv.Itoa(now)), 0o644); err != nil {
			return err
		}
		return os.Rename(tmp, e.State("clock"))
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
	return WithFileLock(e.State(name+".lock"), fn)
}

// WithFileLock runs fn holding an exclusive flock(2) on the file at path
// (created if need be): one holder at a time across the sandbox's
// processes.
func WithFileLock(path string, fn func() error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
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

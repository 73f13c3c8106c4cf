package tests

import "github.com/ams-cluster/ams-aws/internal/sandbox"

// Every boot scenario runs under two timings of the AWS stand-ins: instant,
// where each change is visible at once, and adversarial, where lifecycle
// actions open late, target-lifecycle-state lags its transitions and a new
// instance's credentials are refused for its first seconds
// (sandbox.Adversarial, with its sources).

// bootTiming is a named timing of the AWS stand-ins.
type bootTiming struct {
	name   string
	timing sandbox.Timing
}

// timings are the timings every boot scenario runs under.
func timings() []bootTiming {
	return []bootTiming{{"instant", sandbox.Instant()}, {"adversarial", sandbox.Adversarial()}}
}

// timed sets the world's timing, before any node launches, on the
// world's one clock: no bounded wait of a node runs out while another
// node still works.
func (c *bootCluster) timed(timing sandbox.Timing) *bootCluster {
	c.w.ShareClock()
	c.w.SetTiming(timing)
	return c
}

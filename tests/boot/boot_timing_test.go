package tests

import (
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
)

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

// scenario is one boot situation and the properties the machines must end with.
type scenario func(c *bootCluster) []string

// runScenarios runs each scenario under each timing given, in parallel, each on
// a fresh cluster whose world has one clock (timed): a node's bounded wait
// and another node's work pass on the same clock, which moves only while
// every process of the world waits, so a loaded host slows a scenario
// down but cannot change what it finds.
func runScenarios(t *testing.T, timings []bootTiming, scenarios map[string]scenario) {
	for _, tm := range timings {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			for name, run := range scenarios {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					c := newBootCluster(t, stackScripts()).timed(tm.timing)
					for _, f := range run(c) {
						t.Error(f)
					}
				})
			}
		})
	}
}

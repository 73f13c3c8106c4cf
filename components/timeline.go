package components

import (
	"fmt"
	"strings"
)

// Stated assumptions of the surge timeline: what no registered resource
// says. Each is a typical figure for an AMS Enterprise node on a current
// x86_64 instance; change them here, not in docs/operating.md.
const (
	// ScalingActionSeconds is how long Auto Scaling takes from an alarm
	// state change to starting the scaling activity.
	ScalingActionSeconds = 5
	// ColdLaunchSeconds is a new instance's launch, boot, Ant Media Server
	// start and cluster join, with no warm pool (about 2.5 minutes).
	ColdLaunchSeconds = 150
	// WarmStartSeconds is how long a Stopped warm pool instance takes to
	// start and boot; a Hibernated one resumes in about as long.
	WarmStartSeconds = 20
	// RunningWarmStartSeconds is the same for a Running warm pool instance.
	RunningWarmStartSeconds = 0
	// JoinSeconds is an installed node's switch to cluster mode (Ant Media
	// Server restarts) until it answers its liveness endpoint and completes
	// its launching hook.
	JoinSeconds = 30
)

// SurgeTrigger is one alarm that scales a group out.
type SurgeTrigger struct {
	// Name says which metric it watches.
	Name string
	// PeriodSeconds and Datapoints are the alarm's period and datapoints
	// to alarm.
	PeriodSeconds, Datapoints int
	// GranularitySeconds is how often the metric gets a new value (the
	// agent's interval, or EC2 monitoring's one or five minutes): a surge
	// may begin just after a sample.
	GranularitySeconds int
}

// SurgeInputs is what the surge timeline of one group depends on.
type SurgeInputs struct {
	// Triggers are the alarms that scale the group out; the fastest counts.
	Triggers []SurgeTrigger
	// WarmPoolState is the warm pool's state ("Stopped", "Running",
	// "Hibernated"), or "" for no warm pool.
	WarmPoolState string
	// HealthCheckIntervalSeconds and HealthyThreshold are the target
	// group's: a new target serves after that many passed probes.
	HealthCheckIntervalSeconds, HealthyThreshold int
}

// SurgeStep is one stage of a surge timeline.
type SurgeStep struct {
	What    string
	Seconds int
}

// SurgeTimeline is the time from a surge to new capacity serving, stage by stage.
type SurgeTimeline struct {
	Steps []SurgeStep
	// Total is the sum of the steps, in seconds.
	Total int
}

// String is the timeline as one line: "detection 40 s + ... = 115 s".
func (t SurgeTimeline) String() string {
	parts := make([]string, len(t.Steps))
	for i, s := range t.Steps {
		parts[i] = fmt.Sprintf("%s %d s", s.What, s.Seconds)
	}
	return fmt.Sprintf("%s = %d s", strings.Join(parts, " + "), t.Total)
}

// Surge computes a group's surge timeline: the fastest trigger's detection
// (granularity plus period times datapoints), the scaling action, the new
// node's start (warm or cold) and join, and the load balancer's healthy
// threshold. It fails without a trigger.
func Surge(in SurgeInputs) (SurgeTimeline, error) {
	if len(in.Triggers) == 0 {
		return SurgeTimeline{}, fmt.Errorf("surge timeline: no alarm scales the group out")
	}
	best := in.Triggers[0]
	detect := func(tr SurgeTrigger) int { return tr.GranularitySeconds + tr.PeriodSeconds*tr.Datapoints }
	for _, tr := range in.Triggers[1:] {
		if detect(tr) < detect(best) {
			best = tr
		}
	}
	steps := []SurgeStep{{"detection (" + best.Name + ")", detect(best)}, {"scaling action", ScalingActionSeconds}}
	switch in.WarmPoolState {
	case "":
		steps = append(steps, SurgeStep{"cold launch, boot and join", ColdLaunchSeconds})
	case "Running":
		steps = append(steps, SurgeStep{"warm node (Running)", RunningWarmStartSeconds}, SurgeStep{"cluster join", JoinSeconds})
	case "Stopped", "Hibernated":
		steps = append(steps, SurgeStep{"warm node start (" + in.WarmPoolState + ")", WarmStartSeconds}, SurgeStep{"cluster join", JoinSeconds})
	default:
		return SurgeTimeline{}, fmt.Errorf("surge timeline: unknown warm pool state %q", in.WarmPoolState)
	}
	steps = append(steps, SurgeStep{"health checks", in.HealthCheckIntervalSeconds * in.HealthyThreshold})
	t := SurgeTimeline{Steps: steps}
	for _, s := range steps {
		t.Total += s.Seconds
	}
	return t, nil
}

package plan

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/mockaws"
)

// SurgeInputs reads an Auto Scaling group's surge timeline inputs from what
// a run registered: the alarms on the group that fire its scaling policies,
// the metrics' granularity, its warm pool and its target groups' health
// checks.
func SurgeInputs(r *mockaws.Result, asg *mockaws.Resource) components.SurgeInputs {
	var in components.SurgeInputs
	lt := r.ByID(asg.Str("launchTemplate.id"))
	policies := map[string]bool{}
	for _, pol := range r.OfType(typePolicy) {
		if pol.Str("autoscalingGroupName") == asg.StateStr("name") {
			policies[pol.StateStr("arn")] = true
		}
	}
	for _, a := range r.OfType(typeAlarm) {
		fires := false
		for _, act := range strs(a, "alarmActions") {
			fires = fires || policies[act]
		}
		if !fires || a.Str("dimensions.AutoScalingGroupName") != asg.StateStr("name") {
			continue
		}
		granularity := components.AgentIntervalSeconds
		if a.Str("namespace") == "AWS/EC2" {
			granularity = 300
			if lt != nil && lt.Str("monitoring.enabled") == "true" {
				granularity = 60
			}
		}
		name := a.Str("metricName")
		if name == "" {
			name = a.Name
		}
		in.Triggers = append(in.Triggers, components.SurgeTrigger{
			Name: name, PeriodSeconds: int(a.Num("period")), Datapoints: int(a.Num("datapointsToAlarm")), GranularitySeconds: granularity,
		})
	}
	in.WarmPoolState = asg.Str("warmPool.poolState")
	// The slowest of the group's target groups decides when it serves.
	for _, arn := range strs(asg, "targetGroupArns") {
		tg := r.ByArn(arn)
		if tg == nil {
			continue
		}
		interval, healthy := int(tg.Num("healthCheck.interval")), int(tg.Num("healthCheck.healthyThreshold"))
		if interval*healthy > in.HealthCheckIntervalSeconds*in.HealthyThreshold {
			in.HealthCheckIntervalSeconds, in.HealthyThreshold = interval, healthy
		}
	}
	return in
}

// surge prints each Auto Scaling group's surge timeline: from a surge to
// new capacity serving.
func (p *Plan) surge(b *strings.Builder) {
	fmt.Fprintf(b, "Surge timeline (a surge until new capacity serves)\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, asg := range p.r.OfType(typeGroup) {
		line := ""
		in := SurgeInputs(p.r, asg)
		warm := in.WarmPoolState
		if warm == "" {
			warm = "no warm pool"
		} else {
			warm = strings.ToLower(warm) + " warm pool"
		}
		if asg.Input("mixedInstancesPolicy").IsObject() {
			// AWS refuses a warm pool on a group with Spot: a cold launch.
			warm = "Spot, " + warm
		}
		if size := asg.Str("minSize"); size != "" && size == asg.Str("maxSize") {
			line = "fixed size " + size + ": does not scale"
		} else if tl, err := components.Surge(in); err != nil {
			line = "no timeline: " + err.Error()
		} else {
			line = tl.String()
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", role(asg), warm, line)
	}
	_ = tw.Flush()
	b.WriteString("\n")
}

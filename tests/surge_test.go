package tests

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/ams-cluster/ams-aws/internal/plan"
)

// prodStack deploys Pulumi.prod.yaml (with a certificate, which it requires).
func prodStack(t *testing.T) *run {
	t.Helper()
	r := runProgram(t, stackConfig(t, "Pulumi.prod.yaml", map[string]string{"certificateArn": testCertificate}))
	if r.err != nil {
		t.Fatalf("the production stack does not build: %v", r.err)
	}
	return r
}

func devStack(t *testing.T) *run {
	t.Helper()
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", nil))
	if r.err != nil {
		t.Fatalf("the dev stack does not build: %v", r.err)
	}
	return r
}

// TestWarmPoolsPerRole: production keeps two stopped nodes per role that
// are never reused after a scale-in; dev and the project defaults have none.
func TestWarmPoolsPerRole(t *testing.T) {
	for _, tc := range []struct {
		stack string
		r     func(*testing.T) *run
		size  map[string]string
	}{
		{"prod", prodStack, map[string]string{"origin": "2", "edge": "2"}},
		{"dev", devStack, nil},
		{"prod with an edge pool of 5", func(t *testing.T) *run {
			r := runProgram(t, stackConfig(t, "Pulumi.prod.yaml", map[string]string{"certificateArn": testCertificate, "edgeWarmPoolSize": "5"}))
			if r.err != nil {
				t.Fatal(r.err)
			}
			return r
		}, map[string]string{"origin": "2", "edge": "5"}},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			r := tc.r(t)
			for _, role := range []string{"origin", "edge"} {
				asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
				if tc.size[role] == "" {
					if !asg.input("warmPool").IsNull() {
						t.Errorf("%s group has a warm pool %v, want none", role, asg.input("warmPool"))
					}
					continue
				}
				size, _ := strconv.Atoi(tc.size[role])
				expectInputs(t, asg, map[string]string{
					"warmPool.poolState":                          "Stopped",
					"warmPool.minSize":                            tc.size[role],
					"warmPool.maxGroupPreparedCapacity":           strconv.Itoa(int(asg.num("minSize")) + size),
					"warmPool.instanceReusePolicy.reuseOnScaleIn": "false",
				})
				// A stopped warm node keeps its root volume: encrypted.
				lt := r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role)
				if got := lt.str("blockDeviceMappings.0.ebs.encrypted"); got != "true" {
					t.Errorf("%s root volume encrypted = %q, want true", role, got)
				}
			}
		})
	}
}

// TestDrainHookIsNamedForTheAgent: the terminating hook keeps its resource
// name and gets the name the agent completes.
func TestDrainHookIsNamedForTheAgent(t *testing.T) {
	r := deploy(t, nil)
	for _, role := range []string{"origin", "edge"} {
		name := "ams-cluster-dev-" + role
		asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
		hook := r.one(t, "aws:autoscaling/lifecycleHook:LifecycleHook", "-"+role+"-drain")
		expectInputs(t, hook, map[string]string{
			"name": components.DrainHookName(name), "autoscalingGroupName": stateString(asg, "name"),
			"lifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING", "defaultResult": "CONTINUE", "heartbeatTimeout": "60",
		})
		script := userData(t, r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role))
		for _, want := range []string{"readonly DRAIN_HOOK='" + components.DrainHookName(name) + "'", "readonly DRAIN_SECONDS='60'", "readonly METRIC_NAMESPACE='ams-cluster/dev/" + role + "'"} {
			if !strings.Contains(script, want) {
				t.Errorf("%s user data lacks %s", role, want)
			}
		}
	}
}

// TestSurgeAlarmsPerRole: CPU surge on both roles; viewers per edge node and
// publishers per origin node only where configured.
func TestSurgeAlarmsPerRole(t *testing.T) {
	type alarm struct{ metric, namespace, threshold, period string }
	for _, tc := range []struct {
		stack string
		r     func(*testing.T) *run
		want  map[string][]alarm
	}{
		{"dev", devStack, map[string][]alarm{
			"origin": {{"CapacityUsed", "ams-cluster/dev/origin", "80", "10"}, {"CPUUtilization", "AWS/EC2", "80", "60"}},
			"edge":   {{"CapacityUsed", "ams-cluster/dev/edge", "80", "10"}, {"CPUUtilization", "AWS/EC2", "80", "60"}},
		}},
		// The mocks run every stack file as stack "dev": the namespace is ams-cluster/dev.
		{"prod", prodStack, map[string][]alarm{
			"origin": {{"CapacityUsed", "ams-cluster/dev/origin", "80", "10"}, {"CPUUtilization", "AWS/EC2", "80", "60"}, {"Publishers", "ams-cluster/dev/origin", "20", "30"}},
			"edge":   {{"CapacityUsed", "ams-cluster/dev/edge", "80", "10"}, {"CPUUtilization", "AWS/EC2", "80", "60"}, {"Viewers", "ams-cluster/dev/edge", "500", "30"}},
		}},
	} {
		t.Run(tc.stack, func(t *testing.T) {
			r := tc.r(t)
			for role, want := range tc.want {
				asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
				policy := r.one(t, "aws:autoscaling/policy:Policy", "-"+role+"-surge")
				expectInputs(t, policy, map[string]string{
					"policyType": "StepScaling", "adjustmentType": "ChangeInCapacity", "autoscalingGroupName": stateString(asg, "name"),
					"stepAdjustments.0.metricIntervalLowerBound": "0", "stepAdjustments.0.scalingAdjustment": strconv.Itoa(components.SurgeStepNodes),
				})
				var got []alarm
				for _, a := range groupAlarms(r, asg) {
					if strings.HasSuffix(a.Name, "-all-full") {
						continue // an operator alarm on the topic (ClusterMonitoring), not a surge trigger
					}
					if a.str("alarmActions.0") != stateString(policy, "arn") {
						t.Errorf("%s alarm %s fires %q, want the surge policy", role, a.Name, a.str("alarmActions.0"))
					}
					if a.str("evaluationPeriods") != "1" || a.str("datapointsToAlarm") != "1" || a.str("statistic") != "Average" {
						t.Errorf("%s alarm %s: %s of %s datapoints on %s, want 1 of 1 on the average", role, a.Name,
							a.str("datapointsToAlarm"), a.str("evaluationPeriods"), a.str("statistic"))
					}
					got = append(got, alarm{a.str("metricName"), a.str("namespace"), a.str("threshold"), a.str("period")})
				}
				if len(got) != len(want) {
					t.Fatalf("%s alarms %v, want %v", role, got, want)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Errorf("%s alarm %d = %v, want %v", role, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func groupAlarms(r *run, asg *registered) []*registered {
	var out []*registered
	for _, a := range r.ofType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if a.str("dimensions.AutoScalingGroupName") == stateString(asg, "name") {
			out = append(out, a)
		}
	}
	return out
}

// surgeInputs reads a group's surge timeline inputs from what the stack
// registered, as the offline plan prints them.
func surgeInputs(t *testing.T, r *run, role string) components.SurgeInputs {
	t.Helper()
	asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
	res := &mockaws.Result{}
	for _, x := range r.resources {
		res.Resources = append(res.Resources, (*mockaws.Resource)(x))
	}
	in := plan.SurgeInputs(res, (*mockaws.Resource)(asg))
	if len(in.Triggers) == 0 {
		t.Fatalf("%s group has no alarm that fires its scaling policies", role)
	}
	if in.HealthyThreshold == 0 {
		t.Fatalf("%s group has no target group with a health check", role)
	}
	return in
}

// antMediaTemplate is Ant Media's CloudFormation autoscale template, from
// its documented settings: target tracking on CPU (three one-minute
// datapoints, one-minute detailed monitoring), no warm pool, health check
// every 30 s, healthy after 3.
var antMediaTemplate = components.SurgeInputs{
	Triggers:                   []components.SurgeTrigger{{Name: "CPU target tracking", PeriodSeconds: 60, Datapoints: 3, GranularitySeconds: 60}},
	HealthCheckIntervalSeconds: 30, HealthyThreshold: 3,
}

// TestSurgeTimeline: with the production stack file new capacity serves
// within 120 s of a surge; dev and Ant Media's template are reported.
func TestSurgeTimeline(t *testing.T) {
	prod, dev := prodStack(t), devStack(t)
	for _, role := range []string{"origin", "edge"} {
		tl, err := components.Surge(surgeInputs(t, prod, role))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("prod %s: %s", role, tl)
		if tl.Total > 120 {
			t.Errorf("prod %s: new capacity serves %d s after a surge, want at most 120 s: %s", role, tl.Total, tl)
		}
		devTL, err := components.Surge(surgeInputs(t, dev, role))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("dev %s: %s", role, devTL)
	}
	cf, err := components.Surge(antMediaTemplate)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Ant Media CloudFormation: %s", cf)
	if cf.Total <= 120 {
		t.Errorf("Ant Media's template computes to %d s; its documented settings cannot serve within 120 s", cf.Total)
	}
}

// TestSurgeTimelineFailsWithoutTrigger keeps the helper honest.
func TestSurgeTimelineFailsWithoutTrigger(t *testing.T) {
	if _, err := components.Surge(components.SurgeInputs{HealthCheckIntervalSeconds: 10, HealthyThreshold: 2}); err == nil {
		t.Error("a group with no scale-out alarm got a surge timeline")
	}
}

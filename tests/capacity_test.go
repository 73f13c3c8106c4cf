package tests

import (
	"strconv"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
)

// What reaches AWS for routing health and replacement health
// (docs/capacity.md): the groups replace on EC2 status only, the target
// groups probe the agent's endpoint, only the load balancer reaches it, and
// the per-node limits drive target tracking on 10 s high-resolution metrics.

func TestGroupsReplaceOnEC2StatusAndTargetGroupsProbeTheAgent(t *testing.T) {
	r := deploy(t, nil)
	for _, role := range []string{"origin", "edge"} {
		asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
		if got := asg.str("healthCheckType"); got != "EC2" {
			t.Errorf("%s group HealthCheckType %q, want EC2: the load balancer's verdict must never terminate a slow node", role, got)
		}
	}
	for _, tg := range r.albTargetGroups() {
		role := roleOfTargetGroup(t, r, tg.ID)
		expectInputs(t, tg, map[string]string{
			"port": "5080", "healthCheck.port": strconv.Itoa(components.HealthPort), "healthCheck.path": components.HealthPath,
			"healthCheck.matcher": "200", "healthCheck.protocol": "HTTP",
		})
		// A full node leaves rotation within two probes of 10 s.
		if out := tg.num("healthCheck.interval") * tg.num("healthCheck.unhealthyThreshold"); out > 30 {
			t.Errorf("%s target group takes a full node out after %v s, want within 30 s", role, out)
		}
	}
}

func TestOnlyTheLoadBalancerReachesTheHealthPort(t *testing.T) {
	r := deploy(t, nil)
	n := newNetwork(t, r)
	health := probe{"tcp", components.HealthPort}
	for _, src := range []source{internet, admin, lbNode, amsNode, mongo} {
		got := n.reachable(src, "ams", health)
		if got != (src.name == "loadbalancer") {
			t.Errorf("%s reaches the nodes' health port %d: %v, want only the load balancer", src.name, components.HealthPort, got)
		}
	}
}

func TestPerNodeLimitsDriveTargetTrackingAndTheAgent(t *testing.T) {
	for _, tc := range []struct {
		name          string
		config        map[string]string
		viewers, pubs map[string]int // by role
	}{
		// dev: c5.xlarge for both roles (Ant Media issue 4721: 150 viewers, 40 publishers).
		{"table", nil, map[string]int{"origin": 150, "edge": 150}, map[string]int{"origin": 40, "edge": 40}},
		{"overridden", map[string]string{"edgeMaxViewersPerNode": "400", "originMaxPublishersPerNode": "25"},
			map[string]int{"origin": 150, "edge": 400}, map[string]int{"origin": 25, "edge": 40}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.config)
			for _, role := range []string{"origin", "edge"} {
				asg := r.one(t, "aws:autoscaling/group:Group", "-"+role)
				metric, limit := components.MetricViewers, tc.viewers[role]
				if role == "origin" {
					metric, limit = components.MetricPublishers, tc.pubs[role]
				}
				policy := r.one(t, "aws:autoscaling/policy:Policy", "-"+role+"-sessions")
				expectInputs(t, policy, map[string]string{
					"policyType": "TargetTrackingScaling", "autoscalingGroupName": stateString(asg, "name"),
					"targetTrackingConfiguration.customizedMetricSpecification.metricName":              metric,
					"targetTrackingConfiguration.customizedMetricSpecification.namespace":               "ams-cluster/dev/" + role,
					"targetTrackingConfiguration.customizedMetricSpecification.statistic":               "Average",
					"targetTrackingConfiguration.customizedMetricSpecification.period":                  "10",
					"targetTrackingConfiguration.customizedMetricSpecification.metricDimensions.0.name": "AutoScalingGroupName",
					"targetTrackingConfiguration.targetValue":                                           strconv.Itoa(limit * 70 / 100),
				})
				script := userData(t, r.one(t, "aws:ec2/launchTemplate:LaunchTemplate", "-"+role))
				for _, want := range []string{
					"readonly MAX_VIEWERS='" + strconv.Itoa(tc.viewers[role]) + "'",
					"readonly MAX_PUBLISHERS='" + strconv.Itoa(tc.pubs[role]) + "'",
					"readonly RESUME_PERCENT='85'", "readonly DOWN_REPLACE_SECONDS='300'",
					"readonly HEALTH_LISTEN='0.0.0.0:" + strconv.Itoa(components.HealthPort) + "'",
				} {
					if !strings.Contains(script, want) {
						t.Errorf("%s agent lacks %s", role, want)
					}
				}
				// An operator alarm, on the alarm topic (ClusterMonitoring).
				full := r.one(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "-"+role+"-all-full")
				expectInputs(t, full, map[string]string{
					"metricName": components.MetricCapacityUsed, "namespace": "ams-cluster/dev/" + role, "statistic": "Minimum", "period": "10",
					"comparisonOperator": "GreaterThanOrEqualToThreshold", "threshold": "90",
					"dimensions.AutoScalingGroupName": stateString(asg, "name"),
					"alarmActions.0":                  stateString(r.one(t, "aws:sns/topic:Topic", "-alarms"), "arn"),
				})
				// The surge fires on the average before every node is full,
				// and the all-full alarm before the load balancer fails open.
				surge := r.one(t, "aws:cloudwatch/metricAlarm:MetricAlarm", "-"+role+"-surge-capacity")
				if th, _ := strconv.Atoi(surge.str("threshold")); th >= 90 {
					t.Errorf("%s capacity surge at %d %%, want below the all-full alarm's 90 %%", role, th)
				}
			}
		})
	}
}

func TestCapacityKeysAreValidatedByKey(t *testing.T) {
	msg := rejectedConfig(t, map[string]string{
		"capacityResumePercent": "99", "amsDownReplaceSeconds": "30", "edgeMaxViewersPerNode": "-5",
	}, nil)
	got := keyMessages(t, msg)
	for _, key := range []string{"capacityResumePercent", "amsDownReplaceSeconds", "edgeMaxViewersPerNode"} {
		if len(got[key]) != 1 {
			t.Errorf("%s: %d messages, want 1: %q", key, len(got[key]), got[key])
		}
	}
	if len(got) != 3 {
		t.Errorf("messages for %v, want only the three bad keys", keys(got))
	}
}

func TestCapacityTableByInstanceSize(t *testing.T) {
	for _, tc := range []struct {
		typ            string
		viewers, pubs  int
		known          bool
		sourceMentions string
	}{
		{"c5.large", 110, 20, true, "PR 260"},
		{"c5.xlarge", 150, 40, true, "4721"},
		{"m5.2xlarge", 300, 80, true, "interpolated"},
		{"c5.4xlarge", 600, 160, true, "four times"},
		{"c6i.8xlarge", 1200, 320, true, "extrapolated"},
		{"t3.medium", 110, 20, false, "PR 260"},
	} {
		got, known := components.CapacityFor(tc.typ)
		if got.Viewers != tc.viewers || got.Publishers != tc.pubs || known != tc.known || !strings.Contains(got.Source, tc.sourceMentions) {
			t.Errorf("CapacityFor(%s) = %+v, %v; want %d viewers, %d publishers, known %v, source naming %q", tc.typ, got, known, tc.viewers, tc.pubs, tc.known, tc.sourceMentions)
		}
	}
}

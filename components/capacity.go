package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Routing health and replacement health are separate (docs/capacity.md):
// the target groups probe the node's agent on HealthPort, which answers
// 503 while the node is at its capacity or Ant Media Server does not
// answer, so a full or slow node leaves rotation and keeps its streams;
// the groups replace a node only on EC2 status checks
// (ReplacementHealthCheckType) or on the agent's own verdict
// (SetInstanceHealth) once Ant Media Server stayed down past
// AMSDownReplaceSeconds.

// HealthPort is the TCP port on which a node's agent answers the load
// balancer's health checks; only the load balancers may reach it.
const HealthPort = 5090

// HealthPath is the path of the agent's health endpoint: 200 while the node
// takes new sessions, 503 while it is full or Ant Media Server is down.
const HealthPath = "/capacity"

// ReplacementHealthCheckType is the groups' HealthCheckType: EC2 status
// checks only, so that the load balancer's verdict (a node full or slow)
// never terminates a node; a dead node is reported by its agent.
const ReplacementHealthCheckType = "EC2"

// MetricCapacityUsed is the agent's per-node metric of how close the node
// is to its nearest limit, in percent: the largest of CPU and memory
// against Ant Media Server's own limits and viewers and publishers against
// the per-node limits.
const MetricCapacityUsed = "CapacityUsed"

// capacityPeriodSeconds is the period of the capacity metrics' target
// tracking and alarms: the agent puts one-second-resolution data every
// AgentIntervalSeconds, and target tracking and alarms accept 10 s periods
// on such high-resolution metrics.
const capacityPeriodSeconds = 10

// capacityTargetPercent is the share of the per-node limit the viewer or
// publisher target tracking holds a node at.
const capacityTargetPercent = 70

// capacitySurgePercent is the average CapacityUsed above which the surge
// policy adds nodes, well before the nodes are full.
const capacitySurgePercent = 80

// allFullPercent is the least loaded node's CapacityUsed at which the
// "all nodes full" alarm fires: every node is then within a few percent of
// its limit, before they all answer 503 and the load balancer fails open.
const allFullPercent = 90

// NodeCapacity is what one Ant Media Server node is taken to carry.
type NodeCapacity struct {
	// Viewers are WebRTC players; Publishers are incoming streams.
	Viewers, Publishers int
	// Source says where the figures come from.
	Source string
}

// Sources of the capacity figures (docs/capacity.md).
const (
	sourceTwoCore  = "Ant Media Scripts PR 260: about 110-120 WebRTC viewers per 2-core edge (lower bound taken); publishers half the c5.xlarge figure"
	sourceXLarge   = "Ant Media issue 4721: a c5.xlarge edge about 150 viewers, an origin about 40 publishers"
	source4XLarge  = "Ant Media issue 4721: a c5.4xlarge about four times the c5.xlarge figures"
	sourceBetween  = "interpolated per vCPU between the c5.xlarge and c5.4xlarge figures (issue 4721)"
	sourceLarger   = "extrapolated per vCPU from the c5.4xlarge figures (issue 4721): 37.5 viewers and 10 publishers a vCPU"
	sizeVCPUsLarge = 2
)

// sizeVCPUs are the vCPUs of the x86_64 general purpose and compute
// optimized sizes (c5, c6i, c7i, m5, m6i, m7i, ...; EC2 instance types).
var sizeVCPUs = map[string]int{
	"large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "9xlarge": 36,
	"12xlarge": 48, "16xlarge": 64, "18xlarge": 72, "24xlarge": 96,
}

// CapacityFor is the per-node capacity the stack assumes for an instance
// type, from Ant Media's published figures by the type's vCPUs; a size the
// table does not know (medium, metal, ...) takes the smallest row, and
// false says so: set the limits by hand then.
func CapacityFor(instanceType string) (NodeCapacity, bool) {
	_, size, _ := strings.Cut(instanceType, ".")
	vcpus, known := sizeVCPUs[size]
	if !known {
		c, _ := CapacityFor("c5.large")
		return c, false
	}
	switch {
	case vcpus == sizeVCPUsLarge:
		return NodeCapacity{110, 20, sourceTwoCore}, true
	case vcpus == 4:
		return NodeCapacity{150, 40, sourceXLarge}, true
	case vcpus == 16:
		return NodeCapacity{600, 160, source4XLarge}, true
	case vcpus < 16:
		return NodeCapacity{150 + (vcpus-4)*450/12, 40 + (vcpus-4)*120/12, sourceBetween}, true
	}
	return NodeCapacity{vcpus * 75 / 2, vcpus * 10, sourceLarger}, true
}

// capacityDefaults fills the per-node limits from the instance type.
func (a *ScalingGroupArgs) capacityDefaults() {
	c, _ := CapacityFor(a.InstanceType)
	setDefaultInt(&a.MaxViewersPerNode, c.Viewers)
	setDefaultInt(&a.MaxPublishersPerNode, c.Publishers)
	setDefaultInt(&a.CapacityResumePercent, 85)
	setDefaultInt(&a.AMSDownReplaceSeconds, 300)
}

// validateCapacity checks the capacity settings.
func (a *ScalingGroupArgs) validateCapacity(bad *fieldErrors) {
	bad.within("MaxViewersPerNode", a.MaxViewersPerNode, 1, 100000, "viewers a node takes before it leaves rotation")
	bad.within("MaxPublishersPerNode", a.MaxPublishersPerNode, 1, 10000, "publishers a node takes before it leaves rotation")
	bad.within("CapacityResumePercent", a.CapacityResumePercent, 50, 95, "percent of the limits below which a full node takes sessions again")
	bad.within("AMSDownReplaceSeconds", a.AMSDownReplaceSeconds, 120, 3600, "seconds Ant Media Server may stay down before the node asks to be replaced")
}

// capacityScaling adds target tracking on viewers (edges) or publishers
// (origins) per node, on the agent's high-resolution metrics with a 10 s
// period, beside CPU target tracking.
func capacityScaling(ctx *pulumi.Context, name string, a ScalingGroupArgs, asg *autoscaling.Group, parent pulumi.ResourceOption) error {
	metric, limit := MetricViewers, a.MaxViewersPerNode
	if a.Role == RoleOrigin {
		metric, limit = MetricPublishers, a.MaxPublishersPerNode
	}
	group := autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricDimensionArray{
		&autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationMetricDimensionArgs{
			Name: pulumi.String("AutoScalingGroupName"), Value: asg.Name,
		},
	}
	if _, err := autoscaling.NewPolicy(ctx, name+"-sessions", &autoscaling.PolicyArgs{
		AutoscalingGroupName:    asg.Name,
		PolicyType:              pulumi.String("TargetTrackingScaling"),
		EstimatedInstanceWarmup: pulumi.Int(a.HealthCheckGraceSeconds),
		TargetTrackingConfiguration: &autoscaling.PolicyTargetTrackingConfigurationArgs{
			CustomizedMetricSpecification: &autoscaling.PolicyTargetTrackingConfigurationCustomizedMetricSpecificationArgs{
				Namespace:        pulumi.String(a.MetricNamespace),
				MetricName:       pulumi.String(metric),
				MetricDimensions: group,
				Statistic:        pulumi.String("Average"),
				Period:           pulumi.Int(capacityPeriodSeconds),
			},
			TargetValue: pulumi.Float64(float64(max(1, limit*capacityTargetPercent/100))),
		},
	}, parent); err != nil {
		return fmt.Errorf("scaling group %s: %s target tracking: %w", name, metric, err)
	}
	return nil
}

// capacitySurgeAlarm fires the surge policy when the nodes average
// capacitySurgePercent of their limits, before any of them is full.
func capacitySurgeAlarm(a ScalingGroupArgs) surgeAlarm {
	return surgeAlarm{"-surge-capacity", a.MetricNamespace, MetricCapacityUsed, "nodes near their capacity on average",
		capacityPeriodSeconds, capacitySurgePercent}
}

// agentCapacity is what the nodes' agent judges capacity and health by.
func (a *ScalingGroupArgs) agentCapacity() AgentCapacity {
	return AgentCapacity{
		Listen: fmt.Sprintf("0.0.0.0:%d", HealthPort), Path: HealthPath,
		MaxViewers: a.MaxViewersPerNode, MaxPublishers: a.MaxPublishersPerNode,
		ResumePercent: a.CapacityResumePercent, DownReplaceSeconds: a.AMSDownReplaceSeconds,
	}
}

// allFull alarms when every node of a role's group is within a few percent
// of its capacity (the least loaded node's CapacityUsed at allFullPercent
// over 10 s): once every node is full the load balancer fails open and
// sends new sessions to full nodes. Without the streaming namespace there
// is nothing to watch.
func (al *alarms) allFull(a ClusterMonitoringArgs, role string, group pulumi.StringInput) {
	if a.StreamingNamespace == "" {
		return
	}
	al.add(role+"-all-full", &cloudwatch.MetricAlarmArgs{
		AlarmDescription: pulumi.Sprintf("Every %s node is within %d%% of its capacity (CPU or memory against Ant Media's limits, "+
			"or viewers/publishers against the per-node limits): once all are full the load balancer sends new sessions to full nodes. "+
			"First check the dashboard's %s nodes and whether the group is at its maximum size, then raise %sMaxSize; see docs/capacity.md.",
			role, 100-allFullPercent, role, role),
		Namespace:          pulumi.String(HostMetricNamespace(a.StreamingNamespace, role)),
		MetricName:         pulumi.String(MetricCapacityUsed),
		Dimensions:         pulumi.StringMap{"AutoScalingGroupName": group},
		Statistic:          pulumi.String("Minimum"),
		Period:             pulumi.Int(capacityPeriodSeconds),
		EvaluationPeriods:  pulumi.Int(1),
		DatapointsToAlarm:  pulumi.Int(1),
		ComparisonOperator: pulumi.String("GreaterThanOrEqualToThreshold"),
		Threshold:          pulumi.Float64(allFullPercent),
		TreatMissingData:   pulumi.String("notBreaching"),
	})
}

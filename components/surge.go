package components

import (
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AgentIntervalSeconds is how often a node's agent reads its streams,
// viewers and publishers from Ant Media Server and publishes them.
const AgentIntervalSeconds = 10

// Metric names the agent publishes per node, with the dimension
// AutoScalingGroupName, at one-second storage resolution.
const (
	MetricLiveStreams = "LiveStreams"
	MetricViewers     = "Viewers"
	MetricPublishers  = "Publishers"
)

// SurgePeriodSeconds is the period of the surge alarms on the agent's
// high-resolution metrics (CloudWatch allows 10, 30 or a multiple of 60).
const SurgePeriodSeconds = 30

// surgeCPUPeriodSeconds is the period of the CPU surge alarm: EC2 detailed
// monitoring gives one datapoint a minute.
const surgeCPUPeriodSeconds = 60

// surgeCPUMarginPercent is how far above the CPU target the surge alarm
// fires: target tracking handles the slow drift, the surge the jump.
const surgeCPUMarginPercent = 20

// SurgeStepNodes is how many nodes one surge alarm adds at once.
const SurgeStepNodes = 2

// warmPool is the group's warm pool: stopped, installed nodes that return
// to the pool never (a scaled-in node is terminated, not reused, so that
// a node never carries a stale cluster state back into the pool).
func warmPool(a ScalingGroupArgs) autoscaling.GroupWarmPoolPtrInput {
	if a.WarmPoolSize == 0 {
		return nil
	}
	return &autoscaling.GroupWarmPoolArgs{
		PoolState: pulumi.String("Stopped"),
		MinSize:   pulumi.Int(a.WarmPoolSize),
		// Without it the pool grows to MaxSize minus the desired capacity;
		// with MinSize + WarmPoolSize it stays at WarmPoolSize.
		MaxGroupPreparedCapacity: pulumi.Int(a.MinSize + a.WarmPoolSize),
		InstanceReusePolicy: &autoscaling.GroupWarmPoolInstanceReusePolicyArgs{
			ReuseOnScaleIn: pulumi.Bool(false),
		},
	}
}

// surgeAlarm is one metric alarm that fires the surge policy.
type surgeAlarm struct {
	suffix, namespace, metric, description string
	period, threshold                      int
}

// surgeScaling adds the fast scale-out path beside CPU target tracking: a
// step policy that adds SurgeStepNodes, fired by one-datapoint alarms on
// CPU and, when configured, on the agent's viewers or publishers per node.
func surgeScaling(ctx *pulumi.Context, name string, a ScalingGroupArgs, asg *autoscaling.Group, tags pulumi.StringMap, parent pulumi.ResourceOption) error {
	policy, err := autoscaling.NewPolicy(ctx, name+"-surge", &autoscaling.PolicyArgs{
		AutoscalingGroupName:    asg.Name,
		PolicyType:              pulumi.String("StepScaling"),
		AdjustmentType:          pulumi.String("ChangeInCapacity"),
		MetricAggregationType:   pulumi.String("Average"),
		EstimatedInstanceWarmup: pulumi.Int(a.HealthCheckGraceSeconds),
		StepAdjustments: autoscaling.PolicyStepAdjustmentArray{
			&autoscaling.PolicyStepAdjustmentArgs{
				MetricIntervalLowerBound: pulumi.String("0"),
				ScalingAdjustment:        pulumi.Int(SurgeStepNodes),
			},
		},
	}, parent)
	if err != nil {
		return fmt.Errorf("scaling group %s: surge policy: %w", name, err)
	}
	group := pulumi.StringMap{"AutoScalingGroupName": asg.Name}
	alarms := []surgeAlarm{{
		"-surge-cpu", "AWS/EC2", "CPUUtilization", "CPU jumped well above the target",
		surgeCPUPeriodSeconds, min(a.CPUTargetPercent+surgeCPUMarginPercent, 95),
	}}
	if a.ViewersPerNode > 0 {
		alarms = append(alarms, surgeAlarm{"-surge-viewers", a.MetricNamespace, MetricViewers, "viewers per node above the surge threshold", SurgePeriodSeconds, a.ViewersPerNode})
	}
	if a.PublishersPerNode > 0 {
		alarms = append(alarms, surgeAlarm{"-surge-publishers", a.MetricNamespace, MetricPublishers, "publishers per node above the surge threshold", SurgePeriodSeconds, a.PublishersPerNode})
	}
	alarms = append(alarms, capacitySurgeAlarm(a))
	for _, al := range alarms {
		if _, err := cloudwatch.NewMetricAlarm(ctx, name+al.suffix, &cloudwatch.MetricAlarmArgs{
			AlarmDescription:   pulumi.Sprintf("%s: %s; adds %d nodes", name, al.description, SurgeStepNodes),
			Namespace:          pulumi.String(al.namespace),
			MetricName:         pulumi.String(al.metric),
			Dimensions:         group,
			Statistic:          pulumi.String("Average"),
			Period:             pulumi.Int(al.period),
			EvaluationPeriods:  pulumi.Int(1),
			DatapointsToAlarm:  pulumi.Int(1),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			Threshold:          pulumi.Float64(float64(al.threshold)),
			// No data (no nodes yet, an agent restarting) is no surge.
			TreatMissingData: pulumi.String("notBreaching"),
			AlarmActions:     pulumi.Array{policy.Arn},
			Tags:             tags,
		}, parent); err != nil {
			return fmt.Errorf("scaling group %s: alarm %s: %w", name, al.suffix, err)
		}
	}
	return nil
}

package components

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// GroupTagKey is the tag that names the Auto Scaling group an AMS node
// belongs to, as "<project>/<stack>/<component name>". A node's role may
// complete lifecycle actions only on the group carrying its own value.
const GroupTagKey = "ams:group"

// instanceAccess is what an instance role may do beyond Session Manager.
type instanceAccess struct {
	// Read are the ARNs of the SSM parameters the node may ssm:GetParameter.
	Read pulumi.StringArray
	// Write are the ARNs of the SSM parameters the node may ssm:PutParameter.
	Write pulumi.StringArray
	// LifecycleGroup, when set, is the GroupTagKey value of the Auto Scaling
	// group whose lifecycle actions the node may complete (and heartbeat).
	LifecycleGroup string
	// Protect lets the node also set the scale-in protection of the
	// LifecycleGroup's instances (origins, which protect themselves while
	// publishing).
	Protect bool
	// Leave lets the node also terminate the LifecycleGroup's instances
	// without decrementing the desired capacity (Spot edges, which leave
	// their target groups at once on an interruption notice or a rebalance
	// recommendation while Auto Scaling launches their replacement).
	Leave bool
	// LifecycleGroupArns is the ARN pattern of the account's Auto Scaling
	// groups in the region, the resource of those actions; the tag
	// condition narrows it to the node's own group.
	LifecycleGroupArns string
	// Logs, when set, are the log groups and metric namespace of the
	// node's CloudWatch agent.
	Logs *NodeLogs
	// MetricNamespace, when set, is the namespace of the node's streaming
	// metrics (its agent); with Logs' namespace, the only ones it may put
	// metric data into.
	MetricNamespace string
}

// partitionOf is the partition of an ARN ("aws", "aws-cn"...); "aws" when
// the ARN says none.
func partitionOf(arn string) string {
	if parts := strings.Split(arn, ":"); len(parts) > 1 && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// autoScalingGroupArns is the ARN pattern of an account's Auto Scaling
// groups in a region: the resource of the lifecycle actions a node may take
// (instanceAccess.LifecycleGroupArns).
func autoScalingGroupArns(partition, region, account string) string {
	return fmt.Sprintf("arn:%s:autoscaling:%s:%s:autoScalingGroup:*:autoScalingGroupName/*", partition, region, account)
}

// instanceProfile creates an EC2 role and instance profile that allow
// Session Manager and exactly the given access.
func instanceProfile(ctx *pulumi.Context, name string, access instanceAccess, tags map[string]string, opts ...pulumi.ResourceOption) (*iam.InstanceProfile, error) {
	assume, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{{
			"Effect":    "Allow",
			"Principal": map[string]any{"Service": "ec2.amazonaws.com"},
			"Action":    "sts:AssumeRole",
		}},
	})
	if err != nil {
		return nil, err
	}
	role, err := iam.NewRole(ctx, name, &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(string(assume)),
		Description:      pulumi.Sprintf("Instance role of %s: Session Manager and its own SSM parameters", name),
		Tags:             tagMap(tags),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("instance role %s: %w", name, err)
	}
	var logGroups pulumi.StringArray
	var namespaces []string
	if access.MetricNamespace != "" {
		namespaces = append(namespaces, access.MetricNamespace)
	}
	if access.Logs != nil {
		logGroups = access.Logs.LogGroupArns
		namespaces = append(namespaces, access.Logs.MetricsNamespace)
	}
	policy := pulumi.All(access.Read.ToStringArrayOutput(), access.Write.ToStringArrayOutput(), logGroups.ToStringArrayOutput()).ApplyT(func(v []any) (string, error) {
		return instancePolicy(v[0].([]string), v[1].([]string), access.LifecycleGroup, access.LifecycleGroupArns, access.Protect, access.Leave, v[2].([]string), namespaces)
	}).(pulumi.StringOutput)
	if _, err := iam.NewRolePolicy(ctx, name, &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policy,
	}, opts...); err != nil {
		return nil, fmt.Errorf("instance role policy %s: %w", name, err)
	}
	profile, err := iam.NewInstanceProfile(ctx, name, &iam.InstanceProfileArgs{
		Role: role.Name,
		Tags: tagMap(tags),
	}, opts...)
	if err != nil {
		return nil, fmt.Errorf("instance profile %s: %w", name, err)
	}
	return profile, nil
}

// instancePolicy is the IAM policy document of an AMS cluster instance.
func instancePolicy(readable, writable []string, lifecycleGroup, lifecycleGroupArns string, protect, leave bool, logGroupArns, metricNamespaces []string) (string, error) {
	// What the SSM agent needs for Session Manager, and nothing more. The
	// managed AmazonSSMManagedInstanceCore policy is not used because it also
	// grants ssm:GetParameter on every parameter.
	sessionManager := []string{
		"ssm:UpdateInstanceInformation",
		"ssmmessages:CreateControlChannel",
		"ssmmessages:CreateDataChannel",
		"ssmmessages:OpenControlChannel",
		"ssmmessages:OpenDataChannel",
		"ec2messages:AcknowledgeMessage",
		"ec2messages:DeleteMessage",
		"ec2messages:FailMessage",
		"ec2messages:GetEndpoint",
		"ec2messages:GetMessages",
		"ec2messages:SendReply",
	}
	statements := []map[string]any{{
		"Sid":      "SessionManager",
		"Effect":   "Allow",
		"Action":   sessionManager,
		"Resource": "*",
	}}
	if len(readable) > 0 {
		statements = append(statements, map[string]any{
			"Sid":      "ReadOwnParameters",
			"Effect":   "Allow",
			"Action":   []string{"ssm:GetParameter"},
			"Resource": readable,
		})
	}
	if len(writable) > 0 {
		statements = append(statements, map[string]any{
			"Sid":      "WriteOwnParameters",
			"Effect":   "Allow",
			"Action":   []string{"ssm:PutParameter"},
			"Resource": writable,
		})
	}
	if lifecycleGroup != "" {
		if lifecycleGroupArns == "" {
			lifecycleGroupArns = "*"
		}
		// The actions authorize on the autoScalingGroup resource type,
		// which supports autoscaling:ResourceTag/${TagKey} (Service
		// Authorization Reference); the tag scopes them to the node's own
		// group without knowing the group's generated name or ARN in advance.
		// No condition key names the instance the request is about, so a
		// node may act on any instance of its own group, never beyond it.
		// SetInstanceHealth lets the agent have its instance replaced once
		// Ant Media Server stayed down (docs/capacity.md).
		actions := []string{"autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat", "autoscaling:SetInstanceHealth"}
		if protect {
			actions = append(actions, "autoscaling:SetInstanceProtection")
		}
		if leave {
			actions = append(actions, "autoscaling:TerminateInstanceInAutoScalingGroup")
		}
		statements = append(statements, map[string]any{
			"Sid":      "OwnGroupLifecycle",
			"Effect":   "Allow",
			"Action":   actions,
			"Resource": lifecycleGroupArns,
			"Condition": map[string]any{
				"StringEquals": map[string]any{"autoscaling:ResourceTag/" + GroupTagKey: lifecycleGroup},
			},
		})
	}
	if len(logGroupArns) > 0 {
		// The agent writes streams named after the instance into groups the
		// stack created (and retains); log stream ARNs are the group's ARN
		// followed by ":log-stream:<name>".
		streams := make([]string, len(logGroupArns))
		for i, arn := range logGroupArns {
			streams[i] = arn + ":*"
		}
		statements = append(statements, map[string]any{
			"Sid":      "ShipOwnLogs",
			"Effect":   "Allow",
			"Action":   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			"Resource": streams,
		})
	}
	if len(metricNamespaces) > 0 {
		// PutMetricData has no resource type; cloudwatch:namespace is its
		// condition key (Service Authorization Reference for CloudWatch).
		// A list of values matches any of them.
		var namespace any = metricNamespaces
		if len(metricNamespaces) == 1 {
			namespace = metricNamespaces[0]
		}
		statements = append(statements, map[string]any{
			"Sid":       "PutOwnMetrics",
			"Effect":    "Allow",
			"Action":    []string{"cloudwatch:PutMetricData"},
			"Resource":  "*",
			"Condition": map[string]any{"StringEquals": map[string]any{"cloudwatch:namespace": namespace}},
		})
	}
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	return string(doc), err
}

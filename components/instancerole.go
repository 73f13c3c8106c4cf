package components

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// instanceProfile creates an EC2 role and instance profile that allow
// Session Manager and reading exactly the given SSM parameters.
func instanceProfile(ctx *pulumi.Context, name string, parameterArns pulumi.StringArrayInput, tags map[string]string, opts ...pulumi.ResourceOption) (*iam.InstanceProfile, error) {
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
	policy := parameterArns.ToStringArrayOutput().ApplyT(func(arns []string) (string, error) {
		return instancePolicy(arns)
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
func instancePolicy(parameterArns []string) (string, error) {
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
	if len(parameterArns) > 0 {
		statements = append(statements, map[string]any{
			"Sid":      "ReadOwnParameters",
			"Effect":   "Allow",
			"Action":   []string{"ssm:GetParameter"},
			"Resource": parameterArns,
		})
	}
	doc, err := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	return string(doc), err
}

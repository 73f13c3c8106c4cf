package components

import (
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AMSMarketplaceProductCode is the AWS Marketplace product code of Ant Media
// Server Enterprise.
const AMSMarketplaceProductCode = "4wh7rhpic3wfwamyp5905tsbt"

// ScalingGroupArgs configures a ScalingGroup.
type ScalingGroupArgs struct {
	// Role is the nodes' role: "origin" (publishers) or "edge" (players). Required.
	Role string
	// SubnetIDs are the subnets the nodes launch in; they must route to the
	// internet, since nodes get public IPs for WebRTC media. Required.
	SubnetIDs pulumi.StringArrayInput
	// SecurityGroupIDs are the nodes' security groups (a NodeSecurityGroup). Required.
	SecurityGroupIDs pulumi.StringArray
	// TargetGroupArns are the load balancer target groups the nodes join. Defaults to none.
	TargetGroupArns pulumi.StringArray
	// DatabaseURLParameterName is the SecureString SSM parameter that holds
	// the cluster database URL (mongodb://, mongodb+srv:// or redis://). Required.
	DatabaseURLParameterName pulumi.StringInput
	// DatabaseURLParameterArn is that parameter's ARN, the only database
	// secret the nodes may read. Required.
	DatabaseURLParameterArn pulumi.StringInput
	// PanelAdminEmail is the web panel administrator that the first node
	// claims. Defaults to "admin@ams.local".
	PanelAdminEmail string
	// PanelAdminPasswordParameterName is the SecureString SSM parameter with
	// that administrator's password. Defaults to none: the panel is not claimed.
	PanelAdminPasswordParameterName pulumi.StringInput
	// PanelAdminPasswordParameterArn is that parameter's ARN. Required with the name.
	PanelAdminPasswordParameterArn pulumi.StringInput
	// InstanceType is the EC2 instance type. Defaults to "m5.2xlarge".
	InstanceType string
	// ImageID pins the Ant Media Server image: the way to control AMS
	// upgrades in production. Defaults to the newest Ant Media Server
	// Enterprise Marketplace image, looked up at every deployment, so that a
	// new release rolls out through an instance refresh.
	ImageID string
	// MinSize, DesiredCapacity and MaxSize bound the group. Default to 1, MinSize and 10;
	// MinSize is at least 1.
	// DesiredCapacity applies at creation; afterwards scaling owns it.
	MinSize, DesiredCapacity, MaxSize int
	// CPUTargetPercent is the average CPU the group scales to hold, 10 to 90.
	// Defaults to 60.
	CPUTargetPercent int
	// HealthCheckGraceSeconds is how long a new node may take to start Ant
	// Media Server and join the cluster before health checks count; also the
	// instance warm-up. Defaults to 300.
	HealthCheckGraceSeconds int
	// DrainSeconds is how long a leaving node (scale-in, refresh) stays alive
	// after leaving its target group, so that streams on it can end. 30 to
	// 3600. Defaults to 300. Match the target group's deregistration delay.
	DrainSeconds int
	// RootVolumeSizeGiB is the encrypted gp3 root volume size. Defaults to 50.
	RootVolumeSizeGiB int
	// MetadataHopLimit is the IMDSv2 response hop limit. Defaults to 1.
	MetadataHopLimit int
	// CapacityTimeout is how long a deployment waits for new nodes to be
	// healthy in the load balancer. Defaults to "20m".
	CapacityTimeout string
	// Tags are added to every resource and propagated to the instances.
	Tags map[string]string
}

// ScalingGroup is an Auto Scaling group of Ant Media Server nodes in cluster
// mode, for one role. One component serves both roles; only the role and the
// per-role sizes differ.
type ScalingGroup struct {
	pulumi.ResourceState

	// GroupName is the Auto Scaling group's name.
	GroupName pulumi.StringOutput `pulumi:"groupName"`
	// GroupArn is the Auto Scaling group's ARN.
	GroupArn pulumi.StringOutput `pulumi:"groupArn"`
	// LaunchTemplateID is the launch template's ID.
	LaunchTemplateID pulumi.StringOutput `pulumi:"launchTemplateId"`
	// ImageID is the image the nodes run.
	ImageID pulumi.StringOutput `pulumi:"imageId"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *ScalingGroupArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *ScalingGroupArgs) withDefaults() (ScalingGroupArgs, error) {
	const component = "ScalingGroup"
	out := ScalingGroupArgs{}
	if a != nil {
		out = *a
	}
	setDefault(&out.InstanceType, "m5.2xlarge")
	setDefault(&out.PanelAdminEmail, "admin@ams.local")
	setDefault(&out.CapacityTimeout, "20m")
	setDefaultInt(&out.MinSize, 1)
	setDefaultInt(&out.DesiredCapacity, out.MinSize)
	setDefaultInt(&out.MaxSize, 10)
	setDefaultInt(&out.CPUTargetPercent, 60)
	setDefaultInt(&out.HealthCheckGraceSeconds, 300)
	setDefaultInt(&out.DrainSeconds, 300)
	setDefaultInt(&out.RootVolumeSizeGiB, 50)
	setDefaultInt(&out.MetadataHopLimit, 1)
	switch {
	case out.Role != RoleOrigin && out.Role != RoleEdge:
		return out, argErr(component, "Role", out.Role, `"origin" or "edge"`)
	case out.SubnetIDs == nil:
		return out, argErr(component, "SubnetIDs", "", "one or more subnet IDs (required)")
	case len(out.SecurityGroupIDs) == 0:
		return out, argErr(component, "SecurityGroupIDs", "", "one or more security group IDs (required)")
	case out.DatabaseURLParameterName == nil || out.DatabaseURLParameterArn == nil:
		return out, argErr(component, "DatabaseURLParameterName", "", "the name and ARN of the SSM parameter holding the database URL (required)")
	case (out.PanelAdminPasswordParameterName == nil) != (out.PanelAdminPasswordParameterArn == nil):
		return out, argErr(component, "PanelAdminPasswordParameterArn", "", "set together with PanelAdminPasswordParameterName")
	case !IsInstanceType(out.InstanceType):
		return out, argErr(component, "InstanceType", out.InstanceType, "an EC2 instance type such as m5.2xlarge")
	case out.ImageID != "" && !IsAmiID(out.ImageID):
		return out, argErr(component, "ImageID", out.ImageID, "empty (newest Marketplace image) or an image ID such as ami-0123456789abcdef0")
	case out.MinSize < 1 || out.MinSize > 1000:
		return out, argErr(component, "MinSize", out.MinSize, "1 to 1000 (a group of no nodes serves nobody)")
	case out.MaxSize < 1 || out.MaxSize < out.MinSize || out.MaxSize > 1000:
		return out, argErr(component, "MaxSize", out.MaxSize, fmt.Sprintf("1 to 1000 and at least MinSize (%d)", out.MinSize))
	case out.DesiredCapacity < out.MinSize || out.DesiredCapacity > out.MaxSize:
		return out, argErr(component, "DesiredCapacity", out.DesiredCapacity, fmt.Sprintf("between MinSize (%d) and MaxSize (%d)", out.MinSize, out.MaxSize))
	case out.CPUTargetPercent < 10 || out.CPUTargetPercent > 90:
		return out, argErr(component, "CPUTargetPercent", out.CPUTargetPercent, "10 to 90 percent")
	case out.HealthCheckGraceSeconds < 60 || out.HealthCheckGraceSeconds > 3600:
		return out, argErr(component, "HealthCheckGraceSeconds", out.HealthCheckGraceSeconds, "60 to 3600 seconds (AMS needs a minute or more to start)")
	case out.DrainSeconds < 30 || out.DrainSeconds > 3600:
		return out, argErr(component, "DrainSeconds", out.DrainSeconds, "30 to 3600 seconds")
	case out.RootVolumeSizeGiB < 20 || out.RootVolumeSizeGiB > 16384:
		return out, argErr(component, "RootVolumeSizeGiB", out.RootVolumeSizeGiB, "20 to 16384 GiB")
	case out.MetadataHopLimit < 1 || out.MetadataHopLimit > 64:
		return out, argErr(component, "MetadataHopLimit", out.MetadataHopLimit, "1 to 64")
	}
	return out, nil
}

// NewScalingGroup creates the launch template, Auto Scaling group, CPU
// target tracking policy and drain hook of one role's AMS nodes.
func NewScalingGroup(ctx *pulumi.Context, name string, args *ScalingGroupArgs, opts ...pulumi.ResourceOption) (*ScalingGroup, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &ScalingGroup{}
	if err := ctx.RegisterComponentResource(typePrefix+"ScalingGroup", name, g, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(g)
	tags := tagMap(a.Tags, map[string]string{"Name": name, "ams:role": a.Role})

	region, err := aws.GetRegion(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: region: %w", name, err)
	}
	image, err := amsImage(ctx, a.ImageID, parent)
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: %w", name, err)
	}

	readable := pulumi.StringArray{a.DatabaseURLParameterArn}
	panelParameter := pulumi.StringInput(pulumi.String(""))
	if a.PanelAdminPasswordParameterName != nil {
		readable = append(readable, a.PanelAdminPasswordParameterArn)
		panelParameter = a.PanelAdminPasswordParameterName
	}
	profile, err := instanceProfile(ctx, name, readable, a.Tags, parent)
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: %w", name, err)
	}

	userData := pulumi.All(a.DatabaseURLParameterName, panelParameter).ApplyT(func(v []any) (string, error) {
		script, err := renderScript("ams-bootstrap.sh", map[string]any{
			"Role":                        a.Role,
			"Region":                      region.Name,
			"DatabaseURLParameter":        v[0],
			"PanelAdminEmail":             a.PanelAdminEmail,
			"PanelAdminPasswordParameter": v[1],
		})
		return base64.StdEncoding.EncodeToString([]byte(script)), err
	}).(pulumi.StringOutput)

	instanceTags := tagMap(a.Tags, map[string]string{"Name": name, "ams:role": a.Role, "ams:stack": ctx.Stack()})
	lt, err := ec2.NewLaunchTemplate(ctx, name, &ec2.LaunchTemplateArgs{
		Description:        pulumi.Sprintf("Ant Media Server %s node", a.Role),
		ImageId:            pulumi.String(image.Id),
		InstanceType:       pulumi.String(a.InstanceType),
		UserData:           userData,
		IamInstanceProfile: &ec2.LaunchTemplateIamInstanceProfileArgs{Arn: profile.Arn},
		NetworkInterfaces: ec2.LaunchTemplateNetworkInterfaceArray{
			&ec2.LaunchTemplateNetworkInterfaceArgs{
				DeviceIndex: pulumi.Int(0),
				// WebRTC media flows straight between browsers and the node.
				AssociatePublicIpAddress: pulumi.String("true"),
				DeleteOnTermination:      pulumi.String("true"),
				SecurityGroups:           a.SecurityGroupIDs,
			},
		},
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(a.MetadataHopLimit),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{
			&ec2.LaunchTemplateBlockDeviceMappingArgs{
				DeviceName: pulumi.String(image.RootDeviceName),
				Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
					VolumeType:          pulumi.String("gp3"),
					VolumeSize:          pulumi.Int(a.RootVolumeSizeGiB),
					Encrypted:           pulumi.String("true"),
					DeleteOnTermination: pulumi.String("true"),
				},
			},
		},
		Monitoring: &ec2.LaunchTemplateMonitoringArgs{Enabled: pulumi.Bool(true)},
		TagSpecifications: ec2.LaunchTemplateTagSpecificationArray{
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: instanceTags},
			&ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: instanceTags},
		},
		UpdateDefaultVersion: pulumi.Bool(true),
		Tags:                 tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: launch template: %w", name, err)
	}

	var groupTags autoscaling.GroupTagArray
	for _, k := range sortedKeys(instanceTags) {
		groupTags = append(groupTags, &autoscaling.GroupTagArgs{Key: pulumi.String(k), Value: instanceTags[k], PropagateAtLaunch: pulumi.Bool(true)})
	}
	var minElbCapacity pulumi.IntPtrInput
	if len(a.TargetGroupArns) > 0 {
		minElbCapacity = pulumi.Int(a.MinSize)
	}
	asg, err := autoscaling.NewGroup(ctx, name, &autoscaling.GroupArgs{
		VpcZoneIdentifiers: a.SubnetIDs,
		MinSize:            pulumi.Int(a.MinSize),
		MaxSize:            pulumi.Int(a.MaxSize),
		DesiredCapacity:    pulumi.Int(a.DesiredCapacity),
		LaunchTemplate: &autoscaling.GroupLaunchTemplateArgs{
			Id:      lt.ID(),
			Version: lt.LatestVersion.ApplyT(strconv.Itoa).(pulumi.StringOutput),
		},
		TargetGroupArns:        a.TargetGroupArns,
		HealthCheckType:        pulumi.String("ELB"),
		HealthCheckGracePeriod: pulumi.Int(a.HealthCheckGraceSeconds),
		DefaultInstanceWarmup:  pulumi.Int(a.HealthCheckGraceSeconds),
		MinElbCapacity:         minElbCapacity,
		WaitForCapacityTimeout: pulumi.String(a.CapacityTimeout),
		// A new launch template version (new image, type or boot script) rolls
		// through the group one node at a time, launching before terminating.
		InstanceRefresh: &autoscaling.GroupInstanceRefreshArgs{
			Strategy: pulumi.String("Rolling"),
			Preferences: &autoscaling.GroupInstanceRefreshPreferencesArgs{
				MinHealthyPercentage: pulumi.Int(100),
				MaxHealthyPercentage: pulumi.Int(200),
				InstanceWarmup:       pulumi.String(strconv.Itoa(a.HealthCheckGraceSeconds)),
				SkipMatching:         pulumi.Bool(true),
			},
		},
		EnabledMetrics: pulumi.ToStringArray([]string{
			"GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances", "GroupTerminatingInstances",
		}),
		MetricsGranularity: pulumi.String("1Minute"),
		Tags:               groupTags,
	}, parent,
		// Target tracking moves the desired capacity; a redeploy must not reset it.
		pulumi.IgnoreChanges([]string{"desiredCapacity"}))
	if err != nil {
		return nil, fmt.Errorf("scaling group %s: auto scaling group: %w", name, err)
	}

	if _, err := autoscaling.NewLifecycleHook(ctx, name+"-drain", &autoscaling.LifecycleHookArgs{
		AutoscalingGroupName: asg.Name,
		LifecycleTransition:  pulumi.String("autoscaling:EC2_INSTANCE_TERMINATING"),
		HeartbeatTimeout:     pulumi.Int(a.DrainSeconds),
		DefaultResult:        pulumi.String("CONTINUE"),
	}, parent); err != nil {
		return nil, fmt.Errorf("scaling group %s: drain hook: %w", name, err)
	}

	if _, err := autoscaling.NewPolicy(ctx, name+"-cpu", &autoscaling.PolicyArgs{
		AutoscalingGroupName:    asg.Name,
		PolicyType:              pulumi.String("TargetTrackingScaling"),
		EstimatedInstanceWarmup: pulumi.Int(a.HealthCheckGraceSeconds),
		TargetTrackingConfiguration: &autoscaling.PolicyTargetTrackingConfigurationArgs{
			PredefinedMetricSpecification: &autoscaling.PolicyTargetTrackingConfigurationPredefinedMetricSpecificationArgs{
				PredefinedMetricType: pulumi.String("ASGAverageCPUUtilization"),
			},
			TargetValue: pulumi.Float64(float64(a.CPUTargetPercent)),
		},
	}, parent); err != nil {
		return nil, fmt.Errorf("scaling group %s: cpu policy: %w", name, err)
	}

	g.GroupName = asg.Name
	g.GroupArn = asg.Arn
	g.LaunchTemplateID = lt.ID().ToStringOutput()
	g.ImageID = pulumi.String(image.Id).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(g, pulumi.Map{
		"groupName":        g.GroupName,
		"groupArn":         g.GroupArn,
		"launchTemplateId": g.LaunchTemplateID,
		"imageId":          g.ImageID,
	}); err != nil {
		return nil, err
	}
	return g, nil
}

// amsImage finds the pinned image, or the newest Ant Media Server Enterprise
// image on the AWS Marketplace.
func amsImage(ctx *pulumi.Context, imageID string, opts ...pulumi.InvokeOption) (*ec2.LookupAmiResult, error) {
	args := &ec2.LookupAmiArgs{MostRecent: pulumi.BoolRef(true)}
	if imageID != "" {
		args.Filters = []ec2.GetAmiFilter{{Name: "image-id", Values: []string{imageID}}}
	} else {
		args.Owners = []string{"aws-marketplace"}
		args.Filters = []ec2.GetAmiFilter{
			{Name: "product-code", Values: []string{AMSMarketplaceProductCode}},
			{Name: "name", Values: []string{"AntMedia-AWS-Marketplace-EE-*"}},
			{Name: "architecture", Values: []string{"x86_64"}},
		}
	}
	image, err := ec2.LookupAmi(ctx, args, opts...)
	if err != nil {
		return nil, fmt.Errorf("looking up the Ant Media Server image: %w", err)
	}
	return image, nil
}

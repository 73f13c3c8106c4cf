package components

import (
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// nodeTemplate is what sets one node group's launch template apart from
// another's (the AMS nodes' of a ScalingGroup, a TurnServer's).
type nodeTemplate struct {
	// description says what the nodes are.
	description pulumi.StringInput
	// imageID and instanceType are the nodes' image and EC2 instance type.
	imageID      pulumi.StringInput
	instanceType string
	// userData is the nodes' encoded boot script.
	userData pulumi.StringInput
	// profileArn is the nodes' instance profile.
	profileArn pulumi.StringInput
	// securityGroupIDs are the security groups of the nodes' interface.
	securityGroupIDs pulumi.StringArrayInput
	// metadataHopLimit is the IMDSv2 response hop limit.
	metadataHopLimit int
	// rootDeviceName and rootVolumeGiB are the image's root device and the
	// size of the volume on it.
	rootDeviceName pulumi.StringInput
	rootVolumeGiB  int
	// instanceTags tag the instances and their volumes, and with
	// tagInterfaces their network interfaces too.
	instanceTags  pulumi.StringMap
	tagInterfaces bool
	// tags tag the launch template itself.
	tags pulumi.StringMap
}

// nodeLaunchTemplate creates a node group's launch template: IMDSv2 only,
// with instance metadata tags; one network interface with a public
// address, deleted with the node; an encrypted gp3 root volume, deleted with
// the node; detailed monitoring; tagged instances and volumes. Every change
// becomes the default version.
func nodeLaunchTemplate(ctx *pulumi.Context, name string, t nodeTemplate, opts ...pulumi.ResourceOption) (*ec2.LaunchTemplate, error) {
	tagged := []string{"instance", "volume"}
	if t.tagInterfaces {
		tagged = append(tagged, "network-interface")
	}
	var specs ec2.LaunchTemplateTagSpecificationArray
	for _, kind := range tagged {
		specs = append(specs, &ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String(kind), Tags: t.instanceTags})
	}
	return ec2.NewLaunchTemplate(ctx, name, &ec2.LaunchTemplateArgs{
		Description:        t.description,
		ImageId:            t.imageID,
		InstanceType:       pulumi.String(t.instanceType),
		UserData:           t.userData,
		IamInstanceProfile: &ec2.LaunchTemplateIamInstanceProfileArgs{Arn: t.profileArn},
		NetworkInterfaces: ec2.LaunchTemplateNetworkInterfaceArray{
			&ec2.LaunchTemplateNetworkInterfaceArgs{
				DeviceIndex:              pulumi.Int(0),
				AssociatePublicIpAddress: pulumi.String("true"),
				DeleteOnTermination:      pulumi.String("true"),
				SecurityGroups:           t.securityGroupIDs,
			},
		},
		MetadataOptions: &ec2.LaunchTemplateMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(t.metadataHopLimit),
			// The node learns its group's name from its tags
			// (aws:autoscaling:groupName) to complete the launching hook.
			InstanceMetadataTags: pulumi.String("enabled"),
		},
		BlockDeviceMappings: ec2.LaunchTemplateBlockDeviceMappingArray{
			&ec2.LaunchTemplateBlockDeviceMappingArgs{
				DeviceName: t.rootDeviceName,
				Ebs: &ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
					VolumeType:          pulumi.String("gp3"),
					VolumeSize:          pulumi.Int(t.rootVolumeGiB),
					Encrypted:           pulumi.String("true"),
					DeleteOnTermination: pulumi.String("true"),
				},
			},
		},
		Monitoring:           &ec2.LaunchTemplateMonitoringArgs{Enabled: pulumi.Bool(true)},
		TagSpecifications:    specs,
		UpdateDefaultVersion: pulumi.Bool(true),
		Tags:                 t.tags,
	}, opts...)
}

// latestVersion is a launch template's latest version, as an Auto Scaling
// group names it.
func latestVersion(lt *ec2.LaunchTemplate) pulumi.StringOutput {
	return lt.LatestVersion.ApplyT(strconv.Itoa).(pulumi.StringOutput)
}

// launchingHook is a node group's launching lifecycle hook: a new node
// stays out of service until it completes the hook, and is abandoned
// (terminated and replaced) when it has not within timeout seconds.
type launchingHook struct {
	name    string
	timeout int
}

const (
	launchingTransition = "autoscaling:EC2_INSTANCE_LAUNCHING"
	launchingResult     = "ABANDON"
)

// initial is the hook as the group's initial lifecycle hook, which holds
// even the group's first nodes.
func (h launchingHook) initial() autoscaling.GroupInitialLifecycleHookArray {
	return autoscaling.GroupInitialLifecycleHookArray{
		&autoscaling.GroupInitialLifecycleHookArgs{
			Name:                pulumi.String(h.name),
			LifecycleTransition: pulumi.String(launchingTransition),
			DefaultResult:       pulumi.String(launchingResult),
			HeartbeatTimeout:    pulumi.Int(h.timeout),
		},
	}
}

// manage creates the same hook on its own, named for the hook, so that a
// group created before the hook existed gets it too (the group ignores
// changes to its initial hooks, for which the provider would replace it);
// for a new group it rewrites the initial hook in place.
func (h launchingHook) manage(ctx *pulumi.Context, group *autoscaling.Group, opts ...pulumi.ResourceOption) error {
	_, err := autoscaling.NewLifecycleHook(ctx, h.name, &autoscaling.LifecycleHookArgs{
		Name:                 pulumi.String(h.name),
		AutoscalingGroupName: group.Name,
		LifecycleTransition:  pulumi.String(launchingTransition),
		DefaultResult:        pulumi.String(launchingResult),
		HeartbeatTimeout:     pulumi.Int(h.timeout),
	}, opts...)
	return err
}

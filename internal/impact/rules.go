package impact

// Rule is what the provider does when an input of one resource type
// changes: the fields it cannot update and replaces the resource for
// (terraform-provider-aws schema ForceNew / RequiresReplace, which
// pulumi-aws maps one to one), and the fields it updates by stopping and
// starting an instance.
type Rule struct {
	// Type is the Pulumi type token.
	Type string
	// Replace are the top-level inputs whose change replaces the resource.
	Replace []string
	// Restart are the top-level inputs updated in place with a stop and start.
	Restart []string
	// Stateful, when set, names what the resource holds that a replacement
	// loses or moves (a database member, its data, its address).
	Stateful string
	// Source cites the schema the fields come from.
	Source string
}

// Rules are the replace-on-change fields of the resource types whose
// replacement or restart matters to the cluster. Types not listed are
// treated as updated in place, unless a resource they reference is
// replaced and the reference sits in a Replace field.
var Rules = []Rule{
	{
		Type: "aws:ec2/instance:Instance",
		// user_data and user_data_base64 force a new instance when
		// user_data_replace_on_change is true, which MongoNode sets.
		Replace:  []string{"ami", "availabilityZone", "keyName", "subnetId", "networkInterfaces", "privateIp", "userData", "userDataBase64", "placementGroup", "tenancy", "ebsBlockDevices"},
		Restart:  []string{"instanceType"},
		Stateful: "MongoDB member",
		Source:   "internal/service/ec2/ec2_instance.go, ResourceInstance: ami, availability_zone, key_name, subnet_id, network_interface, private_ip, placement_group, tenancy, ebs_block_device ForceNew; user_data/user_data_base64 ForceNew through CustomizeDiff when user_data_replace_on_change; instance_type updated by resourceInstanceUpdate after stopping the instance (stopInstance, then ModifyInstanceAttribute, then startInstance)",
	},
	{
		Type:     "aws:ebs/volume:Volume",
		Replace:  []string{"availabilityZone", "encrypted", "kmsKeyId", "snapshotId", "outpostArn"},
		Stateful: "MongoDB data volume",
		Source:   "internal/service/ec2/ebs_volume.go, ResourceEBSVolume: availability_zone, encrypted, kms_key_id, snapshot_id, outpost_arn ForceNew; size, type, iops, throughput modified in place (ModifyVolume)",
	},
	{
		Type:     "aws:ec2/networkInterface:NetworkInterface",
		Replace:  []string{"subnetId", "privateIp", "interfaceType", "ipv4PrefixCount", "ipv6AddressCount"},
		Stateful: "MongoDB network interface",
		Source:   "internal/service/ec2/vpc_network_interface.go, ResourceNetworkInterface: subnet_id, private_ip, interface_type ForceNew; security_groups, description updated in place",
	},
	{
		Type:     "aws:ec2/subnet:Subnet",
		Replace:  []string{"cidrBlock", "availabilityZone", "availabilityZoneId", "vpcId", "outpostArn"},
		Stateful: "subnet",
		Source:   "internal/service/ec2/vpc_subnet.go, ResourceSubnet: cidr_block, availability_zone, availability_zone_id, vpc_id, outpost_arn ForceNew",
	},
	{
		Type:    "aws:ec2/volumeAttachment:VolumeAttachment",
		Replace: []string{"deviceName", "instanceId", "volumeId"},
		Source:  "internal/service/ec2/ebs_volume_attachment.go, ResourceVolumeAttachment: device_name, instance_id, volume_id ForceNew",
	},
	{
		Type:    "aws:ec2/vpc:Vpc",
		Replace: []string{"cidrBlock", "instanceTenancy"},
		Source:  "internal/service/ec2/vpc_.go, ResourceVPC: cidr_block ForceNew (instance_tenancy ForceNew unless moving to default)",
	},
	{
		Type:    "aws:ec2/eip:Eip",
		Replace: []string{"domain", "publicIpv4Pool", "address", "customerOwnedIpv4Pool", "networkBorderGroup"},
		Source:  "internal/service/ec2/ec2_eip.go, ResourceEIP: domain, public_ipv4_pool, address, network_border_group ForceNew; network_interface and instance re-associated in place",
	},
	{
		Type:    "aws:ec2/keyPair:KeyPair",
		Replace: []string{"keyName", "keyNamePrefix", "publicKey"},
		Source:  "internal/service/ec2/ec2_key_pair.go, ResourceKeyPair: key_name, key_name_prefix, public_key ForceNew",
	},
	{
		Type:    "aws:ec2/securityGroup:SecurityGroup",
		Replace: []string{"name", "namePrefix", "vpcId", "description"},
		Source:  "internal/service/ec2/vpc_security_group.go, ResourceSecurityGroup: name, name_prefix, vpc_id, description ForceNew",
	},
	{
		Type:    "aws:ssm/parameter:Parameter",
		Replace: []string{"name"},
		Source:  "internal/service/ssm/parameter.go, ResourceParameter: name ForceNew",
	},
	{
		Type:    "aws:autoscaling/group:Group",
		Replace: []string{"name", "namePrefix", "initialLifecycleHooks"},
		Source:  "internal/service/autoscaling/group.go, ResourceGroup: name, name_prefix ForceNew; initial_lifecycle_hook ForceNew; a new launch_template version starts an instance refresh (instance_refresh)",
	},
	{
		Type:    "aws:lb/loadBalancer:LoadBalancer",
		Replace: []string{"name", "namePrefix", "internal", "loadBalancerType"},
		Source:  "internal/service/elbv2/load_balancer.go, ResourceLoadBalancer: name, name_prefix, internal, load_balancer_type ForceNew",
	},
	{
		Type:    "aws:lb/targetGroup:TargetGroup",
		Replace: []string{"name", "namePrefix", "port", "protocol", "protocolVersion", "targetType", "vpcId"},
		Source:  "internal/service/elbv2/target_group.go, ResourceTargetGroup: name, name_prefix, port, protocol, protocol_version, target_type, vpc_id ForceNew",
	},
	{
		Type:    "command:local:Command",
		Replace: []string{"triggers"},
		Source:  "pulumi-command provider/pkg/provider/local: triggers replace; other inputs run the update command",
	},
	{
		Type:    "command:remote:Command",
		Replace: []string{"triggers"},
		Source:  "pulumi-command provider/pkg/provider/remote: triggers replace; other inputs run the update command",
	},
	{
		Type:    "random:index/randomPassword:RandomPassword",
		Replace: []string{"length", "special", "upper", "lower", "numeric", "minLower", "minUpper", "minNumeric", "minSpecial", "overrideSpecial", "keepers"},
		Source:  "terraform-provider-random internal/provider/resource_password.go: every argument RequiresReplace",
	},
}

// rule is the Rule of type typ, or nil.
func rule(typ string) *Rule {
	for i := range Rules {
		if Rules[i].Type == typ {
			return &Rules[i]
		}
	}
	return nil
}

package components

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/dlm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ebs"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var (
	parameterPrefixPattern = regexp.MustCompile(`^(/[A-Za-z0-9_.-]+)+$`)
	snapshotTimePattern    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	mongoUserPattern       = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
)

// MongoDBPort is the TCP port MongoDB listens on.
const MongoDBPort = 27017

// UbuntuImageParameter is the public SSM parameter in which Canonical
// publishes the current Ubuntu 24.04 LTS image for an architecture.
func UbuntuImageParameter(arch string) string {
	return "/aws/service/canonical/ubuntu/server/24.04/stable/current/" + arch + "/hvm/ebs-gp3/ami-id"
}

// MongoNodeArgs configures a MongoNode.
type MongoNodeArgs struct {
	// VpcID is the VPC of the node's security group. Required.
	VpcID pulumi.StringInput
	// SubnetID is the subnet the node lives in. It must route to the internet
	// (the boot script installs MongoDB from its repository). Required.
	SubnetID pulumi.StringInput
	// ClientSecurityGroupIDs are the security groups whose members may reach
	// MongoDB on TCP 27017; nobody else can. Defaults to none.
	ClientSecurityGroupIDs pulumi.StringArray
	// InstanceType is the EC2 instance type. Defaults to "m5.xlarge".
	InstanceType string
	// ImageID pins the image. Defaults to the current Ubuntu 24.04 LTS image
	// for the instance type's architecture, resolved once at creation: a newer
	// image later never replaces the node.
	ImageID string
	// MongoVersion is the MongoDB release series to install. Defaults to "8.0",
	// the only series accepted (the one Ant Media installs on Ubuntu 24.04).
	MongoVersion string
	// DataVolumeSizeGiB is the size of the encrypted gp3 data volume. Defaults to 50.
	DataVolumeSizeGiB int
	// RootVolumeSizeGiB is the size of the encrypted gp3 root volume. Defaults to 20.
	RootVolumeSizeGiB int
	// AppUser is the MongoDB user Ant Media connects as. Defaults to "ams".
	AppUser string
	// ParameterPrefix is the SSM Parameter Store path under which the node keeps
	// its passwords, the connection URL and its readiness. Defaults to
	// "/<project>/<stack>/<name>".
	ParameterPrefix string
	// SnapshotRetentionCount is how many scheduled snapshots of the data volume
	// are kept. Defaults to 7; 0 is not accepted, since data would have no backup.
	SnapshotRetentionCount int
	// SnapshotIntervalHours is the time between snapshots: 1, 2, 3, 4, 6, 8, 12
	// or 24. Defaults to 24.
	SnapshotIntervalHours int
	// SnapshotTime is the UTC time ("HH:MM") of the first snapshot of a day.
	// Defaults to "03:00".
	SnapshotTime string
	// AdminCIDR, when set, opens SSH (TCP 22) to this IPv4 network. It may not
	// admit the whole internet. Defaults to no SSH; use Session Manager.
	AdminCIDR string
	// SSHPublicKey, when set, becomes the node's EC2 key pair. Requires
	// AdminCIDR. Defaults to none (no key pair).
	SSHPublicKey string
	// SSHPrivateKey, a secret, lets Pulumi connect after creation to verify the
	// bootstrap. Requires AdminCIDR and SSHPublicKey. Defaults to no check.
	SSHPrivateKey pulumi.StringInput
	// MetadataHopLimit is the IMDSv2 response hop limit. Defaults to 1 (no containers).
	MetadataHopLimit int
	// Logs, when set, has the node install the CloudWatch agent once MongoDB
	// is ready, shipping the boot log and mongod.log and publishing memory
	// and data volume usage (see ClusterLogs). Defaults to no agent.
	Logs *NodeLogs
	// Tags are added to every resource the node creates. Defaults to none.
	Tags map[string]string
}

// MongoNode is a single MongoDB server for Ant Media's cluster state, with
// authentication on, its data on a protected, snapshotted EBS volume that
// outlives the instance, and its credentials in SSM Parameter Store.
type MongoNode struct {
	pulumi.ResourceState

	// InstanceID is the EC2 instance ID.
	InstanceID pulumi.StringOutput `pulumi:"instanceId"`
	// PrivateIP is the node's stable private address.
	PrivateIP pulumi.StringOutput `pulumi:"privateIp"`
	// PublicIP is the node's stable public address, used for egress and, when
	// an admin CIDR is set, for SSH.
	PublicIP pulumi.StringOutput `pulumi:"publicIp"`
	// ConnectionURL is the secret mongodb:// URL Ant Media uses.
	ConnectionURL pulumi.StringOutput `pulumi:"connectionUrl"`
	// ConnectionURLParameterName is the SSM parameter holding ConnectionURL.
	ConnectionURLParameterName pulumi.StringOutput `pulumi:"connectionUrlParameterName"`
	// ConnectionURLParameterArn is the ARN of that parameter.
	ConnectionURLParameterArn pulumi.StringOutput `pulumi:"connectionUrlParameterArn"`
	// SecurityGroupID is the node's security group.
	SecurityGroupID pulumi.StringOutput `pulumi:"securityGroupId"`
	// DataVolumeID is the EBS volume that holds the database.
	DataVolumeID pulumi.StringOutput `pulumi:"dataVolumeId"`
	// ReadyParameterName is the String SSM parameter the node sets at boot:
	// "pending" until MongoDB accepts the application user's credentials,
	// then ready (the boot script's format). Pass it to ScalingGroupArgs so
	// that AMS nodes wait for it.
	ReadyParameterName pulumi.StringOutput `pulumi:"readyParameterName"`
	// ReadyParameterArn is the ARN of that parameter.
	ReadyParameterArn pulumi.StringOutput `pulumi:"readyParameterArn"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *MongoNodeArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *MongoNodeArgs) withDefaults() (MongoNodeArgs, error) {
	const component = "MongoNode"
	bad := fieldErrors{component: component}
	out := MongoNodeArgs{}
	if a != nil {
		out = *a
	}
	setDefault(&out.InstanceType, "m5.xlarge")
	setDefault(&out.MongoVersion, "8.0")
	setDefault(&out.AppUser, "ams")
	setDefault(&out.SnapshotTime, "03:00")
	setDefaultInt(&out.DataVolumeSizeGiB, 50)
	setDefaultInt(&out.RootVolumeSizeGiB, 20)
	setDefaultInt(&out.SnapshotRetentionCount, 7)
	setDefaultInt(&out.SnapshotIntervalHours, 24)
	setDefaultInt(&out.MetadataHopLimit, 1)

	if out.VpcID == nil {
		bad.reject("VpcID", "", "a VPC ID (required)")
	}
	if out.SubnetID == nil {
		bad.reject("SubnetID", "", "a subnet ID (required)")
	}
	if !IsInstanceType(out.InstanceType) {
		bad.reject("InstanceType", out.InstanceType, "an EC2 instance type such as m5.xlarge")
	}
	if out.ImageID != "" && !IsAmiID(out.ImageID) {
		bad.reject("ImageID", out.ImageID, "empty (current Ubuntu 24.04) or an image ID such as ami-0123456789abcdef0")
	}
	if out.MongoVersion != "8.0" {
		bad.reject("MongoVersion", out.MongoVersion, `"8.0"`)
	}
	if out.DataVolumeSizeGiB < 1 || out.DataVolumeSizeGiB > 16384 {
		bad.reject("DataVolumeSizeGiB", out.DataVolumeSizeGiB, "1 to 16384 GiB")
	}
	if out.RootVolumeSizeGiB < 8 || out.RootVolumeSizeGiB > 16384 {
		bad.reject("RootVolumeSizeGiB", out.RootVolumeSizeGiB, "8 to 16384 GiB")
	}
	if !mongoUserPattern.MatchString(out.AppUser) || out.AppUser == "admin" {
		bad.reject("AppUser", out.AppUser, "letters, digits and _ starting with a letter, other than admin")
	}
	if out.ParameterPrefix != "" && !parameterPrefixPattern.MatchString(out.ParameterPrefix) {
		bad.reject("ParameterPrefix", out.ParameterPrefix, "an SSM path such as /ams/dev/mongo")
	}
	if out.SnapshotRetentionCount < 1 || out.SnapshotRetentionCount > 1000 {
		bad.reject("SnapshotRetentionCount", out.SnapshotRetentionCount, "1 to 1000 snapshots")
	}
	if !slices.Contains([]int{1, 2, 3, 4, 6, 8, 12, 24}, out.SnapshotIntervalHours) {
		bad.reject("SnapshotIntervalHours", out.SnapshotIntervalHours, "1, 2, 3, 4, 6, 8, 12 or 24")
	}
	if !snapshotTimePattern.MatchString(out.SnapshotTime) {
		bad.reject("SnapshotTime", out.SnapshotTime, `a UTC time "HH:MM"`)
	}
	if out.MetadataHopLimit < 1 || out.MetadataHopLimit > 64 {
		bad.reject("MetadataHopLimit", out.MetadataHopLimit, "1 to 64")
	}
	bad.add(validateAdminAccess(component, out.AdminCIDR, out.SSHPublicKey, out.SSHPrivateKey != nil))
	bad.add(out.Logs.validate(component))
	return out, bad.err()
}

// validateAdminAccess checks the optional SSH settings shared by the node components.
func validateAdminAccess(component, adminCIDR, publicKey string, hasPrivateKey bool) error {
	if adminCIDR != "" {
		if _, err := ParseIPv4CIDR(adminCIDR); err != nil || IsOpenToWorld(adminCIDR) {
			return argErr(component, "AdminCIDR", adminCIDR, "empty (no SSH) or an IPv4 network narrower than 0.0.0.0/0, e.g. 203.0.113.7/32")
		}
	}
	if publicKey != "" {
		if !strings.HasPrefix(publicKey, "ssh-") && !strings.HasPrefix(publicKey, "ecdsa-") {
			return argErr(component, "SSHPublicKey", publicKey, "an OpenSSH public key (ssh-ed25519 ..., ssh-rsa ..., ecdsa-...)")
		}
		if adminCIDR == "" {
			return argErr(component, "AdminCIDR", adminCIDR, "an IPv4 network when SSHPublicKey is set (a key without a way in is useless)")
		}
	}
	if publicKey != "" && !hasPrivateKey {
		return argErr(component, "SSHPrivateKey", "", "the private half of SSHPublicKey (a secret), so that the bootstrap can be verified")
	}
	if hasPrivateKey && publicKey == "" {
		return argErr(component, "SSHPublicKey", publicKey, "the public half of SSHPrivateKey when SSHPrivateKey is set")
	}
	return nil
}

// NewMongoNode creates the MongoDB server, its data volume, credentials,
// security group and snapshot schedule.
func NewMongoNode(ctx *pulumi.Context, name string, args *MongoNodeArgs, opts ...pulumi.ResourceOption) (*MongoNode, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	if a.ParameterPrefix == "" {
		a.ParameterPrefix = fmt.Sprintf("/%s/%s/%s", ctx.Project(), ctx.Stack(), name)
	}
	m := &MongoNode{}
	if err := ctx.RegisterComponentResource(typePrefix+"MongoNode", name, m, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(m)
	tags := func(extra map[string]string) pulumi.StringMap {
		return tagMap(a.Tags, map[string]string{"Name": name, "ams:role": "mongodb"}, extra)
	}

	region, err := aws.GetRegion(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: region: %w", name, err)
	}
	imageID, err := resolveUbuntuImage(ctx, a.ImageID, ArchitectureOf(a.InstanceType), parent)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: %w", name, err)
	}

	creds, err := m.credentials(ctx, name, a, tags(nil))
	if err != nil {
		return nil, err
	}

	sg, err := m.securityGroup(ctx, name, a, tags(nil))
	if err != nil {
		return nil, err
	}

	subnet := ec2.LookupSubnetOutput(ctx, ec2.LookupSubnetOutputArgs{Id: a.SubnetID.ToStringOutput().ToStringPtrOutput()}, pulumi.Parent(m))
	// The network interface and its public address outlive the instance, so a
	// replacement node keeps the private IP that the connection URL names.
	nic, err := ec2.NewNetworkInterface(ctx, name, &ec2.NetworkInterfaceArgs{
		SubnetId:       a.SubnetID,
		SecurityGroups: pulumi.StringArray{sg.ID()},
		Description:    pulumi.Sprintf("MongoDB node %s", name),
		Tags:           tags(nil),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: network interface: %w", name, err)
	}
	eip, err := ec2.NewEip(ctx, name, &ec2.EipArgs{
		Domain:           pulumi.String("vpc"),
		NetworkInterface: nic.ID(),
		Tags:             tags(nil),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: elastic IP: %w", name, err)
	}

	snapshotTag := fmt.Sprintf("%s/%s/%s", ctx.Project(), ctx.Stack(), name)
	volume, err := ebs.NewVolume(ctx, name+"-data", &ebs.VolumeArgs{
		AvailabilityZone: subnet.AvailabilityZone(),
		Size:             pulumi.Int(a.DataVolumeSizeGiB),
		Type:             pulumi.String("gp3"),
		Encrypted:        pulumi.Bool(true),
		FinalSnapshot:    pulumi.Bool(true),
		Tags:             tags(map[string]string{"Name": name + "-data", snapshotTagKey: snapshotTag}),
	}, parent, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: data volume: %w", name, err)
	}

	// The node reports here, at boot, whether MongoDB accepts the application
	// user's credentials; AMS nodes wait for it before joining the cluster.
	// It exists before the instance, so that the node overwrites it rather
	// than creating a parameter that Pulumi would then fail to create.
	readyParam, err := ssm.NewParameter(ctx, name+"-ready", &ssm.ParameterArgs{
		Name:          pulumi.String(a.ParameterPrefix + "/mongodb/ready"),
		Description:   pulumi.Sprintf("Readiness of MongoDB node %s, set by the node at boot", name),
		Type:          pulumi.String("String"),
		InsecureValue: pulumi.String("pending"),
		Tags:          tags(nil),
	}, parent,
		// The node owns the value once it exists.
		pulumi.IgnoreChanges([]string{"insecureValue"}))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: ready parameter: %w", name, err)
	}

	profile, err := instanceProfile(ctx, name, instanceAccess{
		Read:  pulumi.StringArray{creds.adminPassword.Arn, creds.appPassword.Arn},
		Write: pulumi.StringArray{readyParam.Arn},
		Logs:  a.Logs,
	}, a.Tags, parent)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: %w", name, err)
	}

	agentConfig, err := a.Logs.agentConfig(MongoDataPath)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: %w", name, err)
	}
	userData := pulumi.All(volume.ID(), readyParam.Name).ApplyT(func(v []any) (string, error) {
		return renderScript("mongo-bootstrap.sh", MongoBootstrap{
			AgentConfig:            agentConfig,
			Region:                 region.Name,
			DataVolumeID:           string(v[0].(pulumi.ID)),
			MongoVersion:           a.MongoVersion,
			AdminUser:              mongoAdminUser,
			AdminPasswordParameter: a.ParameterPrefix + "/mongodb/admin-password",
			AppUser:                a.AppUser,
			AppPasswordParameter:   a.ParameterPrefix + "/mongodb/app-password",
			ReadyParameter:         v[1].(string),
			DataVolumeWaitSeconds:  mongoDataVolumeWaitSeconds,
		})
	}).(pulumi.StringOutput)

	var keyName pulumi.StringPtrInput
	if a.SSHPublicKey != "" {
		key, err := ec2.NewKeyPair(ctx, name, &ec2.KeyPairArgs{PublicKey: pulumi.String(a.SSHPublicKey), Tags: tags(nil)}, parent)
		if err != nil {
			return nil, fmt.Errorf("mongo node %s: key pair: %w", name, err)
		}
		keyName = key.KeyName
	}

	instance, err := ec2.NewInstance(ctx, name, &ec2.InstanceArgs{
		Ami:                pulumi.String(imageID),
		InstanceType:       pulumi.String(a.InstanceType),
		IamInstanceProfile: profile.Name,
		KeyName:            keyName,
		NetworkInterfaces: ec2.InstanceNetworkInterfaceArray{
			&ec2.InstanceNetworkInterfaceArgs{DeviceIndex: pulumi.Int(0), NetworkInterfaceId: nic.ID()},
		},
		MetadataOptions: &ec2.InstanceMetadataOptionsArgs{
			HttpEndpoint:            pulumi.String("enabled"),
			HttpTokens:              pulumi.String("required"),
			HttpPutResponseHopLimit: pulumi.Int(a.MetadataHopLimit),
		},
		RootBlockDevice: &ec2.InstanceRootBlockDeviceArgs{
			VolumeType:          pulumi.String("gp3"),
			VolumeSize:          pulumi.Int(a.RootVolumeSizeGiB),
			Encrypted:           pulumi.Bool(true),
			DeleteOnTermination: pulumi.Bool(true),
			Tags:                tags(map[string]string{"Name": name + "-root"}),
		},
		Monitoring: pulumi.Bool(true),
		// A console or API slip must not delete the database host; EC2
		// recovery (ClusterMonitoring) handles hardware failures.
		DisableApiTermination:   pulumi.Bool(true),
		UserDataBase64:          userData.ApplyT(encodeUserData).(pulumi.StringOutput),
		UserDataReplaceOnChange: pulumi.Bool(true),
		// No volumeTags: they would fight the data volume's own tags.
		Tags: tags(nil),
	}, parent,
		// Canonical publishes a new image every few weeks; it must not replace the database.
		pulumi.IgnoreChanges([]string{"ami"}),
		// The network interface and the data volume can belong to one instance at a time.
		pulumi.DeleteBeforeReplace(true),
		pulumi.DependsOn([]pulumi.Resource{eip, readyParam}),
	)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: instance: %w", name, err)
	}

	attachment, err := ec2.NewVolumeAttachment(ctx, name+"-data", &ec2.VolumeAttachmentArgs{
		InstanceId:                  instance.ID(),
		VolumeId:                    volume.ID(),
		DeviceName:                  pulumi.String("/dev/sdf"),
		StopInstanceBeforeDetaching: pulumi.Bool(true),
	}, parent, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: data volume attachment: %w", name, err)
	}

	if err := m.snapshotSchedule(ctx, name, a, snapshotTag); err != nil {
		return nil, err
	}

	// The URL is published once the database is in place (and, with SSH
	// access, verified), so that whoever reads it finds MongoDB there.
	ready := []pulumi.Resource{instance, attachment}
	if a.SSHPrivateKey != nil {
		check, err := m.bootstrapCheck(ctx, name, a, region.Name, eip.PublicIp, instance, attachment)
		if err != nil {
			return nil, err
		}
		ready = append(ready, check)
	}

	m.InstanceID = instance.ID().ToStringOutput()
	m.PrivateIP = nic.PrivateIp
	m.PublicIP = eip.PublicIp
	m.SecurityGroupID = sg.ID().ToStringOutput()
	m.DataVolumeID = volume.ID().ToStringOutput()

	url := pulumi.ToSecret(pulumi.Sprintf("mongodb://%s:%s@%s:%d/?authSource=admin",
		a.AppUser, creds.appPasswordValue, nic.PrivateIp, MongoDBPort)).(pulumi.StringOutput)
	urlParam, err := ssm.NewParameter(ctx, name+"-url", &ssm.ParameterArgs{
		Name:        pulumi.String(a.ParameterPrefix + "/mongodb/url"),
		Description: pulumi.Sprintf("MongoDB connection URL of %s for Ant Media Server", name),
		Type:        pulumi.String("SecureString"),
		Value:       url,
		Tags:        tags(nil),
	}, parent, pulumi.DependsOn(ready))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: url parameter: %w", name, err)
	}
	m.ConnectionURL = url
	m.ConnectionURLParameterName = urlParam.Name
	m.ConnectionURLParameterArn = urlParam.Arn
	m.ReadyParameterName = readyParam.Name
	m.ReadyParameterArn = readyParam.Arn

	if err := ctx.RegisterResourceOutputs(m, pulumi.Map{
		"instanceId":                 m.InstanceID,
		"privateIp":                  m.PrivateIP,
		"publicIp":                   m.PublicIP,
		"connectionUrl":              m.ConnectionURL,
		"connectionUrlParameterName": m.ConnectionURLParameterName,
		"connectionUrlParameterArn":  m.ConnectionURLParameterArn,
		"securityGroupId":            m.SecurityGroupID,
		"dataVolumeId":               m.DataVolumeID,
		"readyParameterName":         m.ReadyParameterName,
		"readyParameterArn":          m.ReadyParameterArn,
	}); err != nil {
		return nil, err
	}
	return m, nil
}

const (
	mongoAdminUser = "admin"
	snapshotTagKey = "ams:snapshot-policy"
	// mongoDataVolumeWaitSeconds bounds the boot script's wait for the data
	// volume's device; an attachment normally shows within a minute.
	mongoDataVolumeWaitSeconds = 600
)

type mongoCredentials struct {
	adminPassword    *ssm.Parameter
	appPassword      *ssm.Parameter
	appPasswordValue pulumi.StringOutput
}

// credentials generates the admin and application passwords and stores them
// as SecureString parameters; they exist nowhere else in plain text.
func (m *MongoNode) credentials(ctx *pulumi.Context, name string, a MongoNodeArgs, tags pulumi.StringMap) (*mongoCredentials, error) {
	out := &mongoCredentials{}
	for _, user := range []struct {
		suffix string
		param  **ssm.Parameter
		value  *pulumi.StringOutput
	}{
		{"admin-password", &out.adminPassword, nil},
		{"app-password", &out.appPassword, &out.appPasswordValue},
	} {
		// Letters and digits only: the password goes into a URL unescaped.
		pw, err := random.NewRandomPassword(ctx, name+"-"+user.suffix, &random.RandomPasswordArgs{
			Length:  pulumi.Int(32),
			Special: pulumi.Bool(false),
		}, pulumi.Parent(m))
		if err != nil {
			return nil, fmt.Errorf("mongo node %s: %s: %w", name, user.suffix, err)
		}
		param, err := ssm.NewParameter(ctx, name+"-"+user.suffix, &ssm.ParameterArgs{
			Name:        pulumi.String(a.ParameterPrefix + "/mongodb/" + user.suffix),
			Description: pulumi.Sprintf("MongoDB %s of %s", strings.ReplaceAll(user.suffix, "-", " "), name),
			Type:        pulumi.String("SecureString"),
			Value:       pw.Result,
			Tags:        tags,
		}, pulumi.Parent(m))
		if err != nil {
			return nil, fmt.Errorf("mongo node %s: %s parameter: %w", name, user.suffix, err)
		}
		*user.param = param
		if user.value != nil {
			*user.value = pw.Result
		}
	}
	return out, nil
}

// securityGroup admits MongoDB clients from the allowed groups and, when an
// admin CIDR is set, SSH from it; nothing else.
func (m *MongoNode) securityGroup(ctx *pulumi.Context, name string, a MongoNodeArgs, tags pulumi.StringMap) (*ec2.SecurityGroup, error) {
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       a.VpcID,
		Description: pulumi.String("MongoDB node of the Ant Media cluster"),
		Tags:        tags,
	}, pulumi.Parent(m))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: security group: %w", name, err)
	}
	rules := &ruleSet{ctx: ctx, group: sg.ID(), parent: m}
	for i, client := range a.ClientSecurityGroupIDs {
		rules.ingressFromGroup(fmt.Sprintf("%s-mongodb-%d", name, i), "tcp", MongoDBPort, MongoDBPort, client, "MongoDB from a client group")
	}
	if a.AdminCIDR != "" {
		rules.ingressFromCIDR(name+"-ssh", "tcp", 22, 22, a.AdminCIDR, "SSH from the admin network")
	}
	rules.egressAll(name + "-egress")
	if rules.err != nil {
		return nil, fmt.Errorf("mongo node %s: %w", name, rules.err)
	}
	return sg, nil
}

// snapshotSchedule snapshots the data volume on a schedule with Data
// Lifecycle Manager and keeps the configured number of snapshots.
func (m *MongoNode) snapshotSchedule(ctx *pulumi.Context, name string, a MongoNodeArgs, snapshotTag string) error {
	role, err := iam.NewRole(ctx, name+"-snapshots", &iam.RoleArgs{
		AssumeRolePolicy: pulumi.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"dlm.amazonaws.com"},"Action":"sts:AssumeRole"}]}`),
		Description:      pulumi.Sprintf("Data Lifecycle Manager role snapshotting %s", name),
		Tags:             tagMap(a.Tags),
	}, pulumi.Parent(m))
	if err != nil {
		return fmt.Errorf("mongo node %s: snapshot role: %w", name, err)
	}
	if _, err := iam.NewRolePolicyAttachment(ctx, name+"-snapshots", &iam.RolePolicyAttachmentArgs{
		Role:      role.Name,
		PolicyArn: pulumi.String("arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"),
	}, pulumi.Parent(m)); err != nil {
		return fmt.Errorf("mongo node %s: snapshot role policy: %w", name, err)
	}
	if _, err := dlm.NewLifecyclePolicy(ctx, name+"-snapshots", &dlm.LifecyclePolicyArgs{
		Description:      pulumi.Sprintf("Snapshots of the MongoDB data volume of %s", name),
		ExecutionRoleArn: role.Arn,
		State:            pulumi.String("ENABLED"),
		PolicyDetails: &dlm.LifecyclePolicyPolicyDetailsArgs{
			ResourceTypes: pulumi.StringArray{pulumi.String("VOLUME")},
			TargetTags:    pulumi.StringMap{snapshotTagKey: pulumi.String(snapshotTag)},
			Schedules: dlm.LifecyclePolicyPolicyDetailsScheduleArray{
				&dlm.LifecyclePolicyPolicyDetailsScheduleArgs{
					Name:     pulumi.Sprintf("every %d h, keep %d", a.SnapshotIntervalHours, a.SnapshotRetentionCount),
					CopyTags: pulumi.Bool(true),
					CreateRule: &dlm.LifecyclePolicyPolicyDetailsScheduleCreateRuleArgs{
						Interval:     pulumi.Int(a.SnapshotIntervalHours),
						IntervalUnit: pulumi.String("HOURS"),
						Times:        pulumi.String(a.SnapshotTime),
					},
					RetainRule: &dlm.LifecyclePolicyPolicyDetailsScheduleRetainRuleArgs{
						Count: pulumi.Int(a.SnapshotRetentionCount),
					},
				},
			},
		},
		Tags: tagMap(a.Tags),
	}, pulumi.Parent(m)); err != nil {
		return fmt.Errorf("mongo node %s: snapshot policy: %w", name, err)
	}
	return nil
}

// bootstrapCheck connects over SSH once the node exists and fails the
// deployment, with the tail of the boot log, unless MongoDB answers an
// authenticated ping.
func (m *MongoNode) bootstrapCheck(ctx *pulumi.Context, name string, a MongoNodeArgs, region string, host pulumi.StringOutput, instance *ec2.Instance, attachment *ec2.VolumeAttachment) (*remote.Command, error) {
	script, err := renderScript("mongo-verify.sh", MongoVerify{
		Region:                 region,
		AdminUser:              mongoAdminUser,
		AdminPasswordParameter: a.ParameterPrefix + "/mongodb/admin-password",
	})
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: %w", name, err)
	}
	check, err := remote.NewCommand(ctx, name+"-bootstrap-check", &remote.CommandArgs{
		Connection: &remote.ConnectionArgs{
			Host:           host,
			User:           pulumi.String("ubuntu"),
			PrivateKey:     pulumi.ToSecret(a.SSHPrivateKey).(pulumi.StringOutput),
			DialErrorLimit: pulumi.Int(30),
		},
		Create:   pulumi.String(script),
		Triggers: pulumi.Array{instance.ID()},
	}, pulumi.Parent(m), pulumi.DependsOn([]pulumi.Resource{attachment}))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: bootstrap check: %w", name, err)
	}
	return check, nil
}

// resolveUbuntuImage returns imageID, or the current Ubuntu 24.04 LTS image
// for arch from Canonical's public SSM parameter.
func resolveUbuntuImage(ctx *pulumi.Context, imageID, arch string, opts ...pulumi.InvokeOption) (string, error) {
	if imageID != "" {
		return imageID, nil
	}
	p, err := ssm.LookupParameter(ctx, &ssm.LookupParameterArgs{Name: UbuntuImageParameter(arch)}, opts...)
	if err != nil {
		return "", fmt.Errorf("looking up the Ubuntu 24.04 image: %w", err)
	}
	return p.Value, nil
}

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
	"github.com/pulumi/pulumi-command/sdk/go/command/local"
	"github.com/pulumi/pulumi-command/sdk/go/command/remote"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var (
	parameterPrefixPattern = regexp.MustCompile(`^(/[A-Za-z0-9_.-]+)+$`)
	snapshotTimePattern    = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	mongoUserPattern       = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)
	replicaSetNamePattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
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
	// (the boot script installs MongoDB from its repository). Required unless
	// SubnetIDs is set, whose first subnet then takes its place.
	SubnetID pulumi.StringInput
	// SubnetIDs are the members' subnets, one per member in member order
	// (member i lives in SubnetIDs[i]); give subnets of distinct zones so that
	// the set survives the loss of a zone. At least Members subnets. Defaults
	// to SubnetID alone.
	SubnetIDs pulumi.StringArray
	// Members is the number of MongoDB servers: 1 (a single node, the
	// default) or 3 (a replica set that keeps a primary when any one member
	// is lost). Even counts add no fault tolerance (a majority of 2 is 2, of
	// 4 is 3), and 5 is not offered: three zones give three members.
	Members int
	// ReplicaSetName is the replica set name with several members. Defaults
	// to "ams"; ignored for one member.
	ReplicaSetName string
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
	// SSHPublicKey, when set, becomes the node's EC2 key pair, named
	// KeyPairName. A new key replaces the key pair only; a member gets it
	// when it is next replaced. Requires AdminCIDR. Defaults to none (no
	// key pair).
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

// MongoNode is MongoDB for Ant Media's cluster state: one server or a
// replica set of three, each member with authentication on, its data on a
// protected, snapshotted EBS volume that outlives the instance and a stable
// network interface; the credentials and the members' key file live in SSM
// Parameter Store.
type MongoNode struct {
	pulumi.ResourceState

	// InstanceID is member 0's EC2 instance ID.
	InstanceID pulumi.StringOutput `pulumi:"instanceId"`
	// PrivateIP is member 0's stable private address.
	PrivateIP pulumi.StringOutput `pulumi:"privateIp"`
	// InstanceIDs are every member's instance IDs, in member order.
	InstanceIDs pulumi.StringArrayOutput `pulumi:"instanceIds"`
	// PrivateIPs are every member's stable private addresses, in member order.
	PrivateIPs pulumi.StringArrayOutput `pulumi:"privateIps"`
	// DataVolumeIDs are every member's data volumes, in member order.
	DataVolumeIDs pulumi.StringArrayOutput `pulumi:"dataVolumeIds"`
	// PublicIP is member 0's stable public address, used for egress and,
	// when an admin CIDR is set, for SSH.
	PublicIP pulumi.StringOutput `pulumi:"publicIp"`
	// ConnectionURL is the secret mongodb:// URL Ant Media uses: credentials
	// and every member's address, with no path and no options.
	ConnectionURL pulumi.StringOutput `pulumi:"connectionUrl"`
	// ConnectionURLParameterName is the SSM parameter holding ConnectionURL.
	ConnectionURLParameterName pulumi.StringOutput `pulumi:"connectionUrlParameterName"`
	// ConnectionURLParameterArn is the ARN of that parameter.
	ConnectionURLParameterArn pulumi.StringOutput `pulumi:"connectionUrlParameterArn"`
	// SecurityGroupID is the node's security group.
	SecurityGroupID pulumi.StringOutput `pulumi:"securityGroupId"`
	// DataVolumeID is member 0's EBS volume that holds the database.
	DataVolumeID pulumi.StringOutput `pulumi:"dataVolumeId"`
	// ReadyParameterName is the String SSM parameter member 0 sets at boot:
	// "pending" until MongoDB (the replica set, with several members)
	// accepts the application user's credentials, then ready (the boot
	// script's format). Pass it to ScalingGroupArgs so
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
	setDefaultInt(&out.Members, 1)
	setDefault(&out.ReplicaSetName, "ams")
	if out.SubnetIDs == nil && out.SubnetID != nil {
		out.SubnetIDs = pulumi.StringArray{out.SubnetID}
	}

	if out.VpcID == nil {
		bad.reject("VpcID", "", "a VPC ID (required)")
	}
	if len(out.SubnetIDs) == 0 {
		bad.reject("SubnetID", "", "a subnet ID (required), or SubnetIDs")
	}
	if out.Members != 1 && out.Members != 3 {
		bad.reject("Members", out.Members, "1 (a single node) or 3 (a replica set)")
	} else if len(out.SubnetIDs) > 0 && len(out.SubnetIDs) < out.Members {
		bad.reject("SubnetIDs", fmt.Sprintf("%d subnets", len(out.SubnetIDs)), fmt.Sprintf("at least one subnet per member (%d), in distinct zones", out.Members))
	}
	if !replicaSetNamePattern.MatchString(out.ReplicaSetName) {
		bad.reject("ReplicaSetName", out.ReplicaSetName, "1 to 64 letters, digits, _ or -")
	}
	if !isInstanceType(out.InstanceType) {
		bad.reject("InstanceType", out.InstanceType, "an EC2 instance type such as m5.xlarge")
	}
	if out.ImageID != "" && !isAmiID(out.ImageID) {
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
		if _, err := parseIPv4CIDR(adminCIDR); err != nil || isOpenToWorld(adminCIDR) {
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

// NewMongoNode creates the MongoDB server, or the replica set's members,
// with their data volumes, network interfaces, credentials (and key file),
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
	imageID, err := resolveUbuntuImage(ctx, a.ImageID, architectureOf(a.InstanceType), parent)
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

	keyFile, err := m.keyFile(ctx, name, a, tags(nil))
	if err != nil {
		return nil, err
	}

	snapshotTag := fmt.Sprintf("%s/%s/%s", ctx.Project(), ctx.Stack(), name)
	members := make([]*mongoMember, a.Members)
	for i := range members {
		if members[i], err = m.memberStorage(ctx, name, i, a, sg, snapshotTag); err != nil {
			return nil, err
		}
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

	// Member 0 keeps the users and publishes readiness; the other members
	// read only the key file.
	initiatorAccess := instanceAccess{
		Read:  pulumi.StringArray{creds.adminPassword.Arn, creds.appPassword.Arn},
		Write: pulumi.StringArray{readyParam.Arn},
		Logs:  a.Logs,
	}
	if keyFile != nil {
		initiatorAccess.Read = append(initiatorAccess.Read, keyFile.Arn)
	}
	profiles := make([]*iam.InstanceProfile, a.Members)
	if profiles[0], err = instanceProfile(ctx, name, initiatorAccess, a.Tags, parent); err != nil {
		return nil, fmt.Errorf("mongo node %s: %w", name, err)
	}
	if a.Members > 1 {
		others, err := instanceProfile(ctx, name+"-members", instanceAccess{Read: pulumi.StringArray{keyFile.Arn}, Logs: a.Logs}, a.Tags, parent)
		if err != nil {
			return nil, fmt.Errorf("mongo node %s: %w", name, err)
		}
		for i := 1; i < a.Members; i++ {
			profiles[i] = others
		}
	}

	agentConfig, err := a.Logs.agentConfig(MongoDataPath)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: %w", name, err)
	}
	privateIPs := make(pulumi.StringArray, a.Members)
	for i, mem := range members {
		privateIPs[i] = mem.nic.PrivateIp
	}
	memberIPs := privateIPs.ToStringArrayOutput()

	keyName, keyPair, err := m.keyPair(ctx, name, a, tags(nil))
	if err != nil {
		return nil, err
	}

	var ready []pulumi.Resource
	for i, mem := range members {
		boot := MongoBootstrap{
			AgentConfig:            agentConfig,
			Region:                 region.Name,
			MongoVersion:           a.MongoVersion,
			AdminUser:              mongoAdminUser,
			AdminPasswordParameter: a.ParameterPrefix + "/mongodb/admin-password",
			AppUser:                a.AppUser,
			AppPasswordParameter:   a.ParameterPrefix + "/mongodb/app-password",
			DataVolumeWaitSeconds:  mongoDataVolumeWaitSeconds,
		}
		userData := pulumi.All(mem.volume.ID(), readyParam.Name, memberIPs).ApplyT(func(v []any) (string, error) {
			b := boot
			b.DataVolumeID, b.ReadyParameter = string(v[0].(pulumi.ID)), v[1].(string)
			if a.Members > 1 {
				b.Replica = &MongoReplicaMember{
					SetName:            a.ReplicaSetName,
					MemberIndex:        i,
					MemberHosts:        strings.Join(v[2].([]string), ","),
					KeyFileParameter:   a.ParameterPrefix + "/mongodb/keyfile",
					MemberWaitSeconds:  mongoMemberWaitSeconds,
					PrimaryWaitSeconds: mongoPrimaryWaitSeconds,
				}
			}
			return renderScript("mongo-userdata.sh", b)
		}).(pulumi.StringOutput)
		// Members change one at a time: member i's instance is created,
		// replaced or restarted only once member i-1's is done and back in
		// the set (its wait), so that a change never takes two down at once.
		after := append([]pulumi.Resource{mem.eip, readyParam}, keyPair...)
		if i > 0 {
			after = append(after, members[i-1].instance, members[i-1].wait)
		}
		if err := m.memberInstance(ctx, name, i, a, mem, imageID, profiles[i], keyName, userData, after); err != nil {
			return nil, err
		}
		ready = append(ready, mem.instance, mem.attachment)
		if a.Members > 1 {
			if mem.wait, err = m.memberWait(ctx, mem, region.Name); err != nil {
				return nil, err
			}
			ready = append(ready, mem.wait)
		}
	}

	if err := m.snapshotSchedule(ctx, name, a, snapshotTag); err != nil {
		return nil, err
	}

	// The URL is published once the database is in place (and, with SSH
	// access, verified), so that whoever reads it finds MongoDB there.
	if a.SSHPrivateKey != nil {
		check, err := m.bootstrapCheck(ctx, name, a, region.Name, members[0].eip.PublicIp, members[0].instance, members[0].attachment)
		if err != nil {
			return nil, err
		}
		ready = append(ready, check)
	}

	instanceIDs := make(pulumi.StringArray, a.Members)
	volumeIDs := make(pulumi.StringArray, a.Members)
	for i, mem := range members {
		instanceIDs[i] = mem.instance.ID().ToStringOutput()
		volumeIDs[i] = mem.volume.ID().ToStringOutput()
	}
	m.InstanceID = members[0].instance.ID().ToStringOutput()
	m.PrivateIP = members[0].nic.PrivateIp
	m.PublicIP = members[0].eip.PublicIp
	m.InstanceIDs = instanceIDs.ToStringArrayOutput()
	m.PrivateIPs = memberIPs
	m.DataVolumeIDs = volumeIDs.ToStringArrayOutput()
	m.SecurityGroupID = sg.ID().ToStringOutput()
	m.DataVolumeID = members[0].volume.ID().ToStringOutput()

	url := pulumi.ToSecret(pulumi.All(creds.appPasswordValue, memberIPs).ApplyT(func(v []any) string {
		return mongoURL(a, v[0].(string), v[1].([]string))
	})).(pulumi.StringOutput)
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
		"instanceIds":                m.InstanceIDs,
		"privateIps":                 m.PrivateIPs,
		"dataVolumeIds":              m.DataVolumeIDs,
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

// mongoURL is the connection string of the members at ips: the user, the
// password and the hosts, with no database path and no options. Ant Media
// 3.0.2 and 3.0.3 refuse create_app.sh when its database URL argument holds
// any of the characters internal/amsargs lists ("?" and "&" among them), so
// the URL relies on the MongoDB Java driver's defaults instead:
//   - without a database path or authSource, credentials authenticate
//     against "admin" (mongo-java-driver, ConnectionString.createCredentials:
//     getAuthSourceOrDefault(authSource, database != null ? database : "admin"));
//   - with several hosts and no replicaSet option the cluster connection
//     mode is MULTIPLE (ClusterSettings.Builder.applyConnectionString) and
//     the cluster type is discovered from the first member that answers as
//     a replica set member (AbstractMultiServerCluster.onChange: UNKNOWN
//     becomes the description's type unless it is REPLICA_SET_GHOST; then
//     handleReplicaSetMemberChanged learns the set name and the members),
//     so the driver finds the set and its primary from the host list.
//
// Checked in r4.11.5 and on master; Ant Media 3.0.3 gets the driver through
// morphia-core 2.4.13 (ant-media-server-parent ams-v3.0.3, morphia.version).
// The user name is letters, digits and "_" (validated) and generated
// passwords are letters and digits, so no character needs escaping.
func mongoURL(a MongoNodeArgs, password string, ips []string) string {
	hosts := make([]string, len(ips))
	for i, ip := range ips {
		hosts[i] = fmt.Sprintf("%s:%d", ip, MongoDBPort)
	}
	return fmt.Sprintf("mongodb://%s:%s@%s", a.AppUser, password, strings.Join(hosts, ","))
}

// mongoMember is one server of the MongoNode and what outlives its instance.
type mongoMember struct {
	name       string
	nic        *ec2.NetworkInterface
	eip        *ec2.Eip
	volume     *ebs.Volume
	instance   *ec2.Instance
	attachment *ec2.VolumeAttachment
	// wait, in a replica set, returns once the member is back in the set.
	wait *local.Command
}

// memberName names member i's resources: member 0 keeps the single node's
// names, so that a node growing into a set keeps its volume and address.
func memberName(name string, i int) string {
	if i == 0 {
		return name
	}
	return fmt.Sprintf("%s-%d", name, i)
}

// memberStorage creates what outlives member i's instance: its network
// interface and public address, and its data volume in its subnet's zone.
func (m *MongoNode) memberStorage(ctx *pulumi.Context, name string, i int, a MongoNodeArgs, sg *ec2.SecurityGroup, snapshotTag string) (*mongoMember, error) {
	mn := memberName(name, i)
	parent := pulumi.Parent(m)
	tags := func(extra map[string]string) pulumi.StringMap {
		return tagMap(a.Tags, map[string]string{"Name": mn, "ams:role": "mongodb"}, extra)
	}
	subnetID := a.SubnetIDs[i]
	subnet := ec2.LookupSubnetOutput(ctx, ec2.LookupSubnetOutputArgs{Id: subnetID.ToStringOutput().ToStringPtrOutput()}, parent)
	// The network interface and its public address outlive the instance, so a
	// replacement node keeps the private IP that the connection URL names.
	nic, err := ec2.NewNetworkInterface(ctx, mn, &ec2.NetworkInterfaceArgs{
		SubnetId:       subnetID,
		SecurityGroups: pulumi.StringArray{sg.ID()},
		Description:    pulumi.Sprintf("MongoDB node %s", mn),
		Tags:           tags(nil),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: network interface: %w", mn, err)
	}
	eip, err := ec2.NewEip(ctx, mn, &ec2.EipArgs{
		Domain:           pulumi.String("vpc"),
		NetworkInterface: nic.ID(),
		Tags:             tags(nil),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: elastic IP: %w", mn, err)
	}
	volume, err := ebs.NewVolume(ctx, mn+"-data", &ebs.VolumeArgs{
		AvailabilityZone: subnet.AvailabilityZone(),
		Size:             pulumi.Int(a.DataVolumeSizeGiB),
		Type:             pulumi.String("gp3"),
		Encrypted:        pulumi.Bool(true),
		FinalSnapshot:    pulumi.Bool(true),
		Tags:             tags(map[string]string{"Name": mn + "-data", snapshotTagKey: snapshotTag}),
	}, parent, pulumi.Protect(true), pulumi.RetainOnDelete(true))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: data volume: %w", mn, err)
	}
	return &mongoMember{name: mn, nic: nic, eip: eip, volume: volume}, nil
}

// memberInstance creates member i's instance and attaches its data volume.
func (m *MongoNode) memberInstance(ctx *pulumi.Context, name string, i int, a MongoNodeArgs, mem *mongoMember, imageID string,
	profile *iam.InstanceProfile, keyName pulumi.StringPtrInput, userData pulumi.StringOutput, after []pulumi.Resource,
) error {
	mn := mem.name
	parent := pulumi.Parent(m)
	tags := func(extra map[string]string) pulumi.StringMap {
		return tagMap(a.Tags, map[string]string{"Name": mn, "ams:role": "mongodb"}, extra)
	}
	instance, err := ec2.NewInstance(ctx, mn, &ec2.InstanceArgs{
		Ami:                pulumi.String(imageID),
		InstanceType:       pulumi.String(a.InstanceType),
		IamInstanceProfile: profile.Name,
		KeyName:            keyName,
		NetworkInterfaces: ec2.InstanceNetworkInterfaceArray{
			&ec2.InstanceNetworkInterfaceArgs{DeviceIndex: pulumi.Int(0), NetworkInterfaceId: mem.nic.ID()},
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
			Tags:                tags(map[string]string{"Name": mn + "-root"}),
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
		pulumi.DependsOn(after),
	)
	if err != nil {
		return fmt.Errorf("mongo node %s: instance: %w", mn, err)
	}
	attachment, err := ec2.NewVolumeAttachment(ctx, mn+"-data", &ec2.VolumeAttachmentArgs{
		InstanceId:                  instance.ID(),
		VolumeId:                    mem.volume.ID(),
		DeviceName:                  pulumi.String("/dev/sdf"),
		StopInstanceBeforeDetaching: pulumi.Bool(true),
	}, parent, pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return fmt.Errorf("mongo node %s: data volume attachment: %w", mn, err)
	}
	mem.instance, mem.attachment = instance, attachment
	return nil
}

// keyFile generates the replica set's internal authentication key (MongoDB
// key files take 6 to 1024 characters of the base64 set; letters and
// digits are) and keeps it as a SecureString that only the members read.
// A single node has none.
func (m *MongoNode) keyFile(ctx *pulumi.Context, name string, a MongoNodeArgs, tags pulumi.StringMap) (*ssm.Parameter, error) {
	if a.Members == 1 {
		return nil, nil
	}
	key, err := random.NewRandomPassword(ctx, name+"-keyfile", &random.RandomPasswordArgs{
		Length:  pulumi.Int(mongoKeyFileLength),
		Special: pulumi.Bool(false),
	}, pulumi.Parent(m))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: key file: %w", name, err)
	}
	param, err := ssm.NewParameter(ctx, name+"-keyfile", &ssm.ParameterArgs{
		Name:        pulumi.String(a.ParameterPrefix + "/mongodb/keyfile"),
		Description: pulumi.Sprintf("Key file of the MongoDB replica set %s (internal authentication of %s)", a.ReplicaSetName, name),
		Type:        pulumi.String("SecureString"),
		Value:       key.Result,
		Tags:        tags,
	}, pulumi.Parent(m))
	if err != nil {
		return nil, fmt.Errorf("mongo node %s: key file parameter: %w", name, err)
	}
	return param, nil
}

const (
	mongoAdminUser = "admin"
	snapshotTagKey = "ams:snapshot-policy"
	// mongoDataVolumeWaitSeconds bounds the boot script's wait for the data
	// volume's device; an attachment normally shows within a minute.
	mongoDataVolumeWaitSeconds = 600
	// mongoMemberWaitSeconds bounds the initiator's wait for the other
	// members: they boot in parallel, but a member may lag by many minutes
	// (a capacity shortage in its zone).
	mongoMemberWaitSeconds = 3600
	// mongoPrimaryWaitSeconds bounds the wait for an election.
	mongoPrimaryWaitSeconds = 600
	// mongoKeyFileLength is the key file's length (at most 1024).
	mongoKeyFileLength = 756
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
	if a.Members > 1 {
		// Members replicate and exchange heartbeats with each other.
		rules.ingressFromGroup(name+"-mongodb-members", "tcp", MongoDBPort, MongoDBPort, sg.ID(), "MongoDB between replica set members")
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

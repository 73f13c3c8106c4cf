package components

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/autoscaling"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TURNPort is the port TURN and STUN clients reach a TURN node on, over UDP
// and TCP (RFC 8489 and RFC 8656 default port).
const TURNPort = 3478

// DeniedPeerNetworks are the networks a TURN relay never sends to, besides
// the VPC's own: private (RFC 1918), shared (RFC 6598), link-local (the
// instance metadata service at 169.254.169.254), loopback and "this
// network" IPv4 ranges, and the IPv6 loopback, unique local (fd00:ec2::254
// is the metadata service over IPv6), link-local and IPv4-mapped ranges. A
// client that could relay there would reach the stack's nodes, MongoDB and
// the nodes' credentials from the internet.
func DeniedPeerNetworks() []string {
	return []string{
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
		"169.254.0.0/16", "127.0.0.0/8", "0.0.0.0/8",
		"::1/128", "fc00::/7", "fe80::/10", "::ffff:0:0/96",
	}
}

var (
	turnRealmPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,126}[A-Za-z0-9])?$`)
	turnUserPattern  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

// TurnServerArgs configures a TurnServer.
type TurnServerArgs struct {
	// VpcID is the VPC of the nodes' security group. Required.
	VpcID pulumi.StringInput
	// VpcCIDR is the VPC's IPv4 network, which the relays may never reach
	// (denied besides DeniedPeerNetworks, in case it is a public range).
	// Required.
	VpcCIDR string
	// SubnetIDs are the public subnets the nodes launch in, one per zone;
	// the group spreads its nodes over their zones. Required.
	SubnetIDs pulumi.StringArrayInput
	// ZoneCount is the number of zones of SubnetIDs. Required.
	ZoneCount int
	// Nodes is how many TURN nodes run, each with an Elastic IP of its own,
	// 1 to 20. Defaults to 1.
	Nodes int
	// EveryZone requires Nodes to be at least ZoneCount, so that losing a
	// zone leaves TURN running (production). Defaults to false.
	EveryZone bool
	// InstanceType is the nodes' EC2 instance type. Defaults to "c6i.large":
	// relaying is network work, and a burstable type runs out of credits
	// under a steady relay load.
	InstanceType string
	// ImageID pins the nodes' Ubuntu 24.04 image. Defaults to none: the
	// current Ubuntu 24.04 LTS image at each deployment (a new image reaches
	// new nodes only; running nodes are not replaced).
	ImageID string
	// RelayPortMin and RelayPortMax bound the UDP ports of relayed
	// addresses, open to the internet: 1024 to 65535, at least 100 ports,
	// not covering TURNPort. Default to 49152 and 65535 (coturn's own).
	RelayPortMin, RelayPortMax int
	// MaxAllocations caps the relay allocations a node serves at once
	// (coturn total-quota; user-quota is the same, since every client
	// shares the one user), 1 to 100000. Defaults to 2000.
	MaxAllocations int
	// Realm is the TURN realm, part of the long-term credential. Letters,
	// digits, dots and hyphens. Defaults to "<project>-<stack>".
	Realm string
	// User is the long-term credential's user name. Defaults to "ams".
	User string
	// ParameterPrefix is the SSM path under which the password parameter
	// lives (<prefix>/password). Defaults to "/<project>/<stack>/turn".
	ParameterPrefix string
	// LaunchTimeoutSeconds bounds a new node's boot (installing coturn,
	// claiming an address) before the group abandons and replaces it, 300
	// to 3600. Defaults to 900.
	LaunchTimeoutSeconds int
	// MetadataHopLimit is the IMDSv2 response hop limit, 1 to 64. Defaults to 1.
	MetadataHopLimit int
	// Domain names the nodes in a Route 53 zone and, with a certificate,
	// adds TURN over TLS on TURNTLSPort. Defaults to none: clients are given
	// the nodes' addresses, and there is no TLS.
	Domain *TurnDomain
	// Tags are added to every resource and propagated to the instances,
	// with keys as ScalingGroupArgs.Tags takes them. Defaults to none.
	Tags map[string]string
}

// TurnServer is coturn on an Auto Scaling group of its own: a fixed number
// of nodes, each holding one of the component's Elastic IPs, serving TURN
// over UDP and TCP with one long-term credential whose password lives in an
// SSM SecureString.
type TurnServer struct {
	pulumi.ResourceState

	// GroupName is the Auto Scaling group's name.
	GroupName pulumi.StringOutput `pulumi:"groupName"`
	// SecurityGroupID is the nodes' security group.
	SecurityGroupID pulumi.StringOutput `pulumi:"securityGroupId"`
	// PublicIPs are the Elastic IPs the nodes serve on, one per node.
	PublicIPs pulumi.StringArrayOutput `pulumi:"publicIps"`
	// URIs are the TURN URIs clients may use: without a domain every
	// node's, UDP then TCP ("turn:198.51.100.7:3478?transport=udp"); with
	// one, the nodes' name over UDP and TCP, then TURN over TLS
	// ("turns:turns.live.example.com:443?transport=tcp") when there is a
	// certificate.
	URIs pulumi.StringArrayOutput `pulumi:"uris"`
	// ServerURI is the one TURN URI Ant Media's stunServerURI takes,
	// without a transport, which Ant Media's WHIP endpoint appends itself
	// (WhipEndpoint, 3.0.x): "turn:<Domain.Name>:3478" with a domain, else
	// "turn:<first node's address>:3478". A failed node's replacement
	// claims the same address.
	ServerURI pulumi.StringOutput `pulumi:"serverUri"`
	// TLSDNSName is the TLS load balancer's own DNS name; empty without TLS.
	TLSDNSName pulumi.StringOutput `pulumi:"tlsDnsName"`
	// User is the credential's user name.
	User pulumi.StringOutput `pulumi:"user"`
	// Realm is the TURN realm.
	Realm pulumi.StringOutput `pulumi:"realm"`
	// PasswordParameterName and PasswordParameterArn are the SecureString
	// holding the credential's password, which the TURN nodes read and
	// whoever hands the credential to clients (the AMS nodes) may read.
	PasswordParameterName pulumi.StringOutput `pulumi:"passwordParameterName"`
	PasswordParameterArn  pulumi.StringOutput `pulumi:"passwordParameterArn"`
	// Password is the credential's password (secret).
	Password pulumi.StringOutput `pulumi:"password"`
}

// Validate applies the defaults to a copy of the arguments and reports
// every one that is not acceptable.
func (a *TurnServerArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *TurnServerArgs) withDefaults() (TurnServerArgs, error) {
	bad := fieldErrors{component: "TurnServer"}
	out := TurnServerArgs{}
	if a != nil {
		out = *a
	}
	setDefaultInt(&out.Nodes, 1)
	setDefault(&out.InstanceType, "c6i.large")
	setDefaultInt(&out.RelayPortMin, 49152)
	setDefaultInt(&out.RelayPortMax, 65535)
	setDefaultInt(&out.MaxAllocations, 2000)
	setDefault(&out.User, "ams")
	setDefaultInt(&out.LaunchTimeoutSeconds, 900)
	setDefaultInt(&out.MetadataHopLimit, 1)
	if out.VpcID == nil {
		bad.reject("VpcID", "", "the VPC's ID (required)")
	}
	if _, err := parseIPv4CIDR(out.VpcCIDR); err != nil {
		bad.reject("VpcCIDR", out.VpcCIDR, "the VPC's IPv4 network, such as 10.0.0.0/16 (required)")
	}
	if out.SubnetIDs == nil {
		bad.reject("SubnetIDs", "", "one or more public subnet IDs (required)")
	}
	bad.within("ZoneCount", out.ZoneCount, 1, 16, "zones (required: the zones of SubnetIDs)")
	switch {
	case out.EveryZone && out.Nodes < out.ZoneCount:
		bad.reject("Nodes", out.Nodes, fmt.Sprintf("at least ZoneCount (%d): one node in every zone, so that TURN outlives a zone", out.ZoneCount))
	default:
		bad.within("Nodes", out.Nodes, 1, 20, "nodes, each with an Elastic IP")
	}
	if !isInstanceType(out.InstanceType) {
		bad.reject("InstanceType", out.InstanceType, "an EC2 instance type such as c6i.large")
	}
	if out.ImageID != "" && !isAmiID(out.ImageID) {
		bad.reject("ImageID", out.ImageID, "empty (current Ubuntu 24.04) or an image ID such as ami-0123456789abcdef0")
	}
	relayPorts := fmt.Sprintf("1024 to 65535, RelayPortMin below RelayPortMax by 99 or more (at least 100 ports), not covering %d", TURNPort)
	if out.RelayPortMin < 1024 || out.RelayPortMin > 65535 || (out.RelayPortMin <= TURNPort && TURNPort <= out.RelayPortMax) {
		bad.reject("RelayPortMin", out.RelayPortMin, relayPorts)
	}
	if out.RelayPortMax > 65535 || out.RelayPortMax-out.RelayPortMin < 99 {
		bad.reject("RelayPortMax", out.RelayPortMax, relayPorts)
	}
	bad.within("MaxAllocations", out.MaxAllocations, 1, 100000, "allocations per node")
	if out.Realm != "" && !turnRealmPattern.MatchString(out.Realm) {
		bad.reject("Realm", out.Realm, "letters, digits, dots and hyphens, such as live.example.com")
	}
	if !turnUserPattern.MatchString(out.User) {
		bad.reject("User", out.User, "1 to 32 letters, digits, _ or -")
	}
	if out.ParameterPrefix != "" && !parameterPrefixPattern.MatchString(out.ParameterPrefix) {
		bad.reject("ParameterPrefix", out.ParameterPrefix, "an SSM path such as /ams/dev/turn")
	}
	bad.within("LaunchTimeoutSeconds", out.LaunchTimeoutSeconds, 300, 3600, "seconds")
	bad.within("MetadataHopLimit", out.MetadataHopLimit, 1, 64, "")
	if out.Domain != nil {
		domain := *out.Domain
		domain.validate(&bad)
		out.Domain = &domain
	}
	bad.instanceTagKeys(out.Tags)
	return out, bad.err()
}

// TurnNode is what a TURN node's boot script (turn-node.sh) and its coturn
// configuration (turnserver.conf) are rendered with.
type TurnNode struct {
	// Region is the AWS region of the node and its parameter.
	Region string
	// Realm and User name the long-term credential.
	Realm, User string
	// PasswordParameter is the SecureString holding the password.
	PasswordParameter string
	// AddressTagKey and AddressTagValue tag the Elastic IPs the node may claim.
	AddressTagKey, AddressTagValue string
	// LaunchHookName names the launching lifecycle hook the node completes.
	LaunchHookName string
	// ListeningPort is TURNPort.
	ListeningPort int
	// RelayPortMin and RelayPortMax bound the relayed ports.
	RelayPortMin, RelayPortMax int
	// UserQuota and TotalQuota cap the allocations of the user and of the node.
	UserQuota, TotalQuota int
	// DeniedPeerRanges are the denied-peer-ip values, "MIN-MAX".
	DeniedPeerRanges []string
}

// RenderTurnConfig renders the stack's part of a TURN node's coturn
// configuration (the node appends its addresses and the user's key).
func RenderTurnConfig(n TurnNode) (string, error) { return renderScript("turnserver.conf", n) }

// TurnLaunchHookName is the name of a TurnServer's launching lifecycle hook.
func TurnLaunchHookName(name string) string { return name + "-ready" }

// PeerRange writes an IPv4 or IPv6 network as the MIN-MAX range coturn's
// denied-peer-ip takes (it reads no CIDR notation).
func PeerRange(cidr string) (string, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	if err != nil {
		return "", fmt.Errorf("peer range %q: %w", cidr, err)
	}
	p = p.Masked()
	last := p.Addr().AsSlice()
	for i := p.Bits(); i < len(last)*8; i++ {
		last[i/8] |= 0x80 >> (i % 8)
	}
	end, _ := netip.AddrFromSlice(last)
	if p.Bits() == p.Addr().BitLen() {
		return p.Addr().String(), nil
	}
	return p.Addr().String() + "-" + end.String(), nil
}

// NewTurnServer creates the TURN nodes' security group, Elastic IPs,
// password and its SecureString parameter, instance role, launch template,
// Auto Scaling group and launching lifecycle hook; with a Domain, the
// nodes' record and, with its certificate, the TLS load balancer.
func NewTurnServer(ctx *pulumi.Context, name string, args *TurnServerArgs, opts ...pulumi.ResourceOption) (*TurnServer, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	setDefault(&a.Realm, ctx.Project()+"-"+ctx.Stack())
	setDefault(&a.ParameterPrefix, fmt.Sprintf("/%s/%s/turn", ctx.Project(), ctx.Stack()))
	if !turnRealmPattern.MatchString(a.Realm) {
		return nil, argErr("TurnServer", "Realm", a.Realm, "letters, digits, dots and hyphens (the project and stack names make the default)")
	}
	t := &TurnServer{}
	if err := ctx.RegisterComponentResource(typePrefix+"TurnServer", name, t, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(t)
	groupTag := fmt.Sprintf("%s/%s/%s", ctx.Project(), ctx.Stack(), name)
	tags := tagMap(a.Tags, map[string]string{"Name": name, "ams:role": "turn", GroupTagKey: groupTag})

	sg, err := t.securityGroup(ctx, name, a, tags)
	if err != nil {
		return nil, err
	}
	ips := make(pulumi.StringArray, a.Nodes)
	for i := range ips {
		eip, err := ec2.NewEip(ctx, fmt.Sprintf("%s-%d", name, i), &ec2.EipArgs{
			Domain: pulumi.String("vpc"),
			// The nodes claim the addresses of their group by this tag.
			Tags: tagMap(a.Tags, map[string]string{"Name": fmt.Sprintf("%s-%d", name, i), GroupTagKey: groupTag}),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("turn server %s: elastic IP %d: %w", name, i, err)
		}
		ips[i] = eip.PublicIp
	}
	password, err := random.NewRandomPassword(ctx, name, &random.RandomPasswordArgs{
		Length: pulumi.Int(32),
		// Letters and digits only: the password travels in coturn's
		// user=name:password form and in Ant Media's settings.
		Special: pulumi.Bool(false),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("turn server %s: password: %w", name, err)
	}
	param, err := ssm.NewParameter(ctx, name+"-password", &ssm.ParameterArgs{
		Name:        pulumi.String(a.ParameterPrefix + "/password"),
		Description: pulumi.Sprintf("TURN long-term credential password of user %s, realm %s", a.User, a.Realm),
		Type:        pulumi.String("SecureString"),
		Value:       password.Result,
		Tags:        tagMap(a.Tags),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("turn server %s: password parameter: %w", name, err)
	}
	names, err := t.domain(ctx, name, a, tags, sg.ID(), ips)
	if err != nil {
		return nil, err
	}
	group, err := t.group(ctx, name, a, groupTag, tags, sg.ID(), param, names.targetGroupArns)
	if err != nil {
		return nil, err
	}

	t.GroupName = group.Name
	t.SecurityGroupID = sg.ID().ToStringOutput()
	t.PublicIPs = ips.ToStringArrayOutput()
	t.URIs = t.PublicIPs.ApplyT(func(ips []string) []string { return turnURIs(a.Domain, ips) }).(pulumi.StringArrayOutput)
	serverHost := ips[0]
	if a.Domain != nil {
		serverHost = pulumi.String(a.Domain.Name)
	}
	t.ServerURI = pulumi.Sprintf("turn:%s:%d", serverHost, TURNPort)
	t.TLSDNSName = names.tlsDNSName
	t.User = pulumi.String(a.User).ToStringOutput()
	t.Realm = pulumi.String(a.Realm).ToStringOutput()
	t.PasswordParameterName = param.Name
	t.PasswordParameterArn = param.Arn
	t.Password = pulumi.ToSecret(password.Result).(pulumi.StringOutput)
	if err := ctx.RegisterResourceOutputs(t, pulumi.Map{
		"groupName":             t.GroupName,
		"securityGroupId":       t.SecurityGroupID,
		"publicIps":             t.PublicIPs,
		"uris":                  t.URIs,
		"serverUri":             t.ServerURI,
		"tlsDnsName":            t.TLSDNSName,
		"user":                  t.User,
		"realm":                 t.Realm,
		"passwordParameterName": t.PasswordParameterName,
		"passwordParameterArn":  t.PasswordParameterArn,
		"password":              t.Password,
	}); err != nil {
		return nil, err
	}
	return t, nil
}

// securityGroup admits TURN (UDP and TCP) and the relayed UDP ports from
// anywhere, and nothing else; the nodes may send anywhere (relayed media,
// AWS APIs, Ubuntu's archive), coturn's denied peers aside.
func (t *TurnServer) securityGroup(ctx *pulumi.Context, name string, a TurnServerArgs, tags pulumi.StringMap) (*ec2.SecurityGroup, error) {
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       a.VpcID,
		Description: pulumi.String("TURN nodes: TURN on 3478 and relayed UDP from anywhere"),
		Tags:        tags,
	}, pulumi.Parent(t))
	if err != nil {
		return nil, fmt.Errorf("turn server %s: security group: %w", name, err)
	}
	rules := &ruleSet{ctx: ctx, group: sg.ID(), parent: t}
	rules.ingressFromCIDR(name+"-turn-udp", "udp", TURNPort, TURNPort, "0.0.0.0/0", "TURN and STUN over UDP")
	rules.ingressFromCIDR(name+"-turn-tcp", "tcp", TURNPort, TURNPort, "0.0.0.0/0", "TURN and STUN over TCP")
	rules.ingressFromCIDR(name+"-relay-udp", "udp", a.RelayPortMin, a.RelayPortMax, "0.0.0.0/0", "Relayed UDP between peers and clients")
	rules.egressAll(name + "-egress")
	if rules.err != nil {
		return nil, fmt.Errorf("turn server %s: security group rules: %w", name, rules.err)
	}
	return sg, nil
}

// group creates the nodes' role, launch template, Auto Scaling group and
// launching hook.
func (t *TurnServer) group(ctx *pulumi.Context, name string, a TurnServerArgs, groupTag string, tags pulumi.StringMap,
	securityGroupID pulumi.StringInput, param *ssm.Parameter, targetGroupArns pulumi.StringArray,
) (*autoscaling.Group, error) {
	parent := pulumi.Parent(t)
	region, err := aws.GetRegion(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("turn server %s: region: %w", name, err)
	}
	caller, err := aws.GetCallerIdentity(ctx, nil, parent)
	if err != nil {
		return nil, fmt.Errorf("turn server %s: caller identity: %w", name, err)
	}
	partition := partitionOf(caller.Arn)
	imageID, err := resolveUbuntuImage(ctx, a.ImageID, architectureOf(a.InstanceType), parent)
	if err != nil {
		return nil, fmt.Errorf("turn server %s: %w", name, err)
	}
	profile, err := instanceProfile(ctx, name, instanceAccess{
		Read:               pulumi.StringArray{param.Arn},
		LifecycleGroup:     groupTag,
		LifecycleGroupArns: autoScalingGroupArns(partition, region.Name, caller.AccountId),
	}, a.Tags, parent)
	if err != nil {
		return nil, fmt.Errorf("turn server %s: %w", name, err)
	}
	claim, err := addressClaimPolicy(partition, region.Name, caller.AccountId, groupTag)
	if err != nil {
		return nil, fmt.Errorf("turn server %s: address policy: %w", name, err)
	}
	if _, err := iam.NewRolePolicy(ctx, name+"-addresses", &iam.RolePolicyArgs{
		Role:   profile.Role,
		Policy: pulumi.String(claim),
	}, parent); err != nil {
		return nil, fmt.Errorf("turn server %s: address policy: %w", name, err)
	}

	vpcRange, err := PeerRange(a.VpcCIDR)
	if err != nil {
		return nil, fmt.Errorf("turn server %s: %w", name, err)
	}
	denied := []string{vpcRange}
	for _, cidr := range DeniedPeerNetworks() {
		r, err := PeerRange(cidr)
		if err != nil {
			return nil, fmt.Errorf("turn server %s: %w", name, err)
		}
		denied = append(denied, r)
	}
	hookName := TurnLaunchHookName(name)
	userData := param.Name.ApplyT(func(parameter string) (string, error) {
		script, err := renderScript("turn-node.sh", TurnNode{
			Region: region.Name, Realm: a.Realm, User: a.User, PasswordParameter: parameter,
			AddressTagKey: GroupTagKey, AddressTagValue: groupTag, LaunchHookName: hookName,
			ListeningPort: TURNPort, RelayPortMin: a.RelayPortMin, RelayPortMax: a.RelayPortMax,
			UserQuota: a.MaxAllocations, TotalQuota: a.MaxAllocations, DeniedPeerRanges: denied,
		})
		if err != nil {
			return "", err
		}
		return encodeUserData(script)
	}).(pulumi.StringOutput)

	// The node's public address serves until its Elastic IP replaces it:
	// the node installs coturn from Ubuntu's archive first.
	lt, err := nodeLaunchTemplate(ctx, name, nodeTemplate{
		description:      pulumi.String("TURN node (coturn)"),
		imageID:          pulumi.String(imageID),
		instanceType:     a.InstanceType,
		userData:         userData,
		profileArn:       profile.Arn,
		securityGroupIDs: pulumi.StringArray{securityGroupID},
		metadataHopLimit: a.MetadataHopLimit,
		rootDeviceName:   pulumi.String("/dev/sda1"),
		rootVolumeGiB:    20,
		instanceTags:     tags,
		// The address claim is authorized on the interface's tag too.
		tagInterfaces: true,
		tags:          tags,
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("turn server %s: launch template: %w", name, err)
	}
	hook := launchingHook{name: hookName, timeout: a.LaunchTimeoutSeconds}
	// A fixed size: clients are handed the Elastic IPs, one per node, and
	// a node that fails is replaced and claims the address it left.
	group, err := autoscaling.NewGroup(ctx, name, &autoscaling.GroupArgs{
		VpcZoneIdentifiers: a.SubnetIDs,
		MinSize:            pulumi.Int(a.Nodes),
		MaxSize:            pulumi.Int(a.Nodes),
		DesiredCapacity:    pulumi.Int(a.Nodes),
		LaunchTemplate: &autoscaling.GroupLaunchTemplateArgs{
			Id:      lt.ID(),
			Version: latestVersion(lt),
		},
		HealthCheckType:        pulumi.String("EC2"),
		HealthCheckGracePeriod: pulumi.Int(a.LaunchTimeoutSeconds),
		WaitForCapacityTimeout: pulumi.Sprintf("%ds", a.LaunchTimeoutSeconds+300),
		InitialLifecycleHooks:  hook.initial(),
		// The TLS load balancer's targets: a node joins once its launch
		// hook is complete, that is once coturn runs.
		TargetGroupArns: targetGroupArns,
		Tags:            propagatedTags(tags),
	}, parent, pulumi.IgnoreChanges([]string{"initialLifecycleHooks"}))
	if err != nil {
		return nil, fmt.Errorf("turn server %s: auto scaling group: %w", name, err)
	}
	if err := hook.manage(ctx, group, parent); err != nil {
		return nil, fmt.Errorf("turn server %s: launch hook: %w", name, err)
	}
	return group, nil
}

// addressClaimPolicy lets a TURN node find its group's Elastic IPs and
// associate one with itself. DescribeAddresses has no resource type;
// AssociateAddress authorizes on the address, the instance and its network
// interface (Service Authorization Reference for Amazon EC2), all of which
// carry the group's tag, so a node can take only its own group's addresses
// and only for its own group's instances.
func addressClaimPolicy(partition, region, account, groupTag string) (string, error) {
	arn := func(kind string) string {
		return fmt.Sprintf("arn:%s:ec2:%s:%s:%s/*", partition, region, account, kind)
	}
	doc, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []map[string]any{
			{"Sid": "FindAddresses", "Effect": "Allow", "Action": []string{"ec2:DescribeAddresses"}, "Resource": "*"},
			{
				"Sid": "ClaimOwnGroupAddress", "Effect": "Allow", "Action": []string{"ec2:AssociateAddress"},
				"Resource":  []string{arn("elastic-ip"), arn("instance"), arn("network-interface")},
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + GroupTagKey: groupTag}},
			},
		},
	})
	return string(doc), err
}

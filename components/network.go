package components

import (
	"fmt"
	"net/netip"
	"regexp"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var (
	vpcIDPattern    = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)
	subnetIDPattern = regexp.MustCompile(`^subnet-([0-9a-f]{8}|[0-9a-f]{17})$`)
)

// NetworkArgs configures a Network.
type NetworkArgs struct {
	// CidrBlock is the IPv4 range of a new VPC, between /16 and /24.
	// Defaults to "10.20.0.0/16". Ignored when ExistingVpcID is set.
	CidrBlock string
	// ZoneCount is how many availability zones get a public subnet; at least 2,
	// since an Application Load Balancer needs two. Defaults to 2. Raising it
	// adds subnets and leaves the existing ones as they are.
	ZoneCount int
	// SubnetPrefixLength is the size of every zone's public subnet: zone i
	// gets the i-th block of this size from the start of CidrBlock, whatever
	// ZoneCount is, so that adding zones never re-addresses a subnet (its
	// cidr_block forces a replacement, and MongoDB's interface lives in it).
	// CidrBlock must hold ZoneCount blocks. Defaults to CidrBlock's prefix
	// plus 2 (a /18 in a /16: room for four zones), the layout of every
	// two-zone network before this field existed; a network created with
	// three or four zones before then has /19s (prefix plus 3), with five or
	// six /20s (plus 4), and must say so here.
	SubnetPrefixLength int
	// ExistingVpcID, when set, makes the Network adopt this VPC instead of
	// creating one. ExistingSubnetIDs must then name at least two of its public
	// subnets in different zones. Defaults to none: a new VPC.
	ExistingVpcID string
	// ExistingSubnetIDs are the public subnets to use with ExistingVpcID.
	// Defaults to none.
	ExistingSubnetIDs []string
	// Tags are added to every resource the Network creates. Defaults to none.
	Tags map[string]string
}

// Network is a VPC with one public subnet per availability zone, either
// created here or adopted from existing IDs.
type Network struct {
	pulumi.ResourceState

	// VpcID is the ID of the VPC.
	VpcID pulumi.StringOutput `pulumi:"vpcId"`
	// PublicSubnetIDs are the public subnets, one per zone, in zone order.
	// In a new VPC they resolve only once each subnet routes to the internet
	// gateway, so resources placed in them depend on that route.
	PublicSubnetIDs pulumi.StringArrayOutput `pulumi:"publicSubnetIds"`
}

// NewNetwork creates (or adopts) the VPC and public subnets the cluster runs in.
func NewNetwork(ctx *pulumi.Context, name string, args *NetworkArgs, opts ...pulumi.ResourceOption) (*Network, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Network{}
	if err := ctx.RegisterComponentResource(typePrefix+"Network", name, n, opts...); err != nil {
		return nil, err
	}

	if a.ExistingVpcID != "" {
		n.VpcID = pulumi.String(a.ExistingVpcID).ToStringOutput()
		n.PublicSubnetIDs = pulumi.ToStringArray(a.ExistingSubnetIDs).ToStringArrayOutput()
	} else if err := n.createVpc(ctx, name, a); err != nil {
		return nil, err
	}

	if err := ctx.RegisterResourceOutputs(n, pulumi.Map{
		"vpcId":           n.VpcID,
		"publicSubnetIds": n.PublicSubnetIDs,
	}); err != nil {
		return nil, err
	}
	return n, nil
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *NetworkArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *NetworkArgs) withDefaults() (NetworkArgs, error) {
	const component = "Network"
	bad := fieldErrors{component: component}
	out := NetworkArgs{}
	if a != nil {
		out = *a
	}
	if out.ExistingVpcID != "" {
		if !vpcIDPattern.MatchString(out.ExistingVpcID) {
			bad.reject("ExistingVpcID", out.ExistingVpcID, "a VPC ID such as vpc-0123456789abcdef0")
		}
		if len(out.ExistingSubnetIDs) < 2 {
			bad.reject("ExistingSubnetIDs", out.ExistingSubnetIDs, "at least two public subnet IDs in different zones")
		}
		seen := map[string]bool{}
		for _, id := range out.ExistingSubnetIDs {
			if !subnetIDPattern.MatchString(id) || seen[id] {
				bad.reject("ExistingSubnetIDs", id, "distinct subnet IDs such as subnet-0123456789abcdef0")
			}
			seen[id] = true
		}
		return out, bad.err()
	}
	if len(out.ExistingSubnetIDs) > 0 {
		bad.reject("ExistingSubnetIDs", out.ExistingSubnetIDs, "empty unless ExistingVpcID is set")
	}
	if out.CidrBlock == "" {
		out.CidrBlock = "10.20.0.0/16"
	}
	if out.ZoneCount == 0 {
		out.ZoneCount = 2
	}
	if out.ZoneCount < 2 || out.ZoneCount > 6 {
		bad.reject("ZoneCount", out.ZoneCount, "2 to 6 availability zones")
	}
	// A bad zone count does not hide a bad range, nor a bad range a bad
	// zone count: every field is checked.
	vpc, err := parseIPv4CIDR(out.CidrBlock)
	if err != nil || vpc.Bits() < 16 || vpc.Bits() > 24 {
		bad.reject("CidrBlock", out.CidrBlock, "an IPv4 network between /16 and /24, e.g. 10.20.0.0/16")
		return out, bad.err()
	}
	if out.SubnetPrefixLength == 0 {
		out.SubnetPrefixLength = vpc.Bits() + DefaultSubnetPrefixBits
	}
	if out.SubnetPrefixLength <= vpc.Bits() || out.SubnetPrefixLength > 28 {
		bad.reject("SubnetPrefixLength", out.SubnetPrefixLength, fmt.Sprintf("a prefix length from %d to 28, longer than CidrBlock's /%d", vpc.Bits()+1, vpc.Bits()))
	} else if room := 1 << (out.SubnetPrefixLength - vpc.Bits()); out.ZoneCount >= 2 && out.ZoneCount <= 6 && out.ZoneCount > room {
		bad.reject("ZoneCount", out.ZoneCount, fmt.Sprintf("at most %d: %s holds %d subnets of /%d (a longer SubnetPrefixLength re-addresses existing subnets)",
			room, out.CidrBlock, room, out.SubnetPrefixLength))
	}
	return out, bad.err()
}

func (n *Network) createVpc(ctx *pulumi.Context, name string, a NetworkArgs) error {
	subnetCIDRs, err := subnetCIDRs(a.CidrBlock, a.SubnetPrefixLength, a.ZoneCount)
	if err != nil {
		return err
	}
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")}, pulumi.Parent(n))
	if err != nil {
		return fmt.Errorf("network %s: listing availability zones: %w", name, err)
	}
	if len(zones.Names) < a.ZoneCount {
		return argErr("Network", "ZoneCount", a.ZoneCount, fmt.Sprintf("at most %d, the zones available in this region", len(zones.Names)))
	}

	tags := func(suffix string) pulumi.StringMap {
		return tagMap(a.Tags, map[string]string{"Name": name + suffix})
	}
	parent := pulumi.Parent(n)
	vpc, err := ec2.NewVpc(ctx, name, &ec2.VpcArgs{
		CidrBlock:          pulumi.String(a.CidrBlock),
		EnableDnsHostnames: pulumi.Bool(true),
		EnableDnsSupport:   pulumi.Bool(true),
		Tags:               tags(""),
	}, parent)
	if err != nil {
		return fmt.Errorf("network %s: vpc: %w", name, err)
	}
	igw, err := ec2.NewInternetGateway(ctx, name, &ec2.InternetGatewayArgs{
		VpcId: vpc.ID(),
		Tags:  tags(""),
	}, parent)
	if err != nil {
		return fmt.Errorf("network %s: internet gateway: %w", name, err)
	}
	routes, err := ec2.NewRouteTable(ctx, name+"-public", &ec2.RouteTableArgs{
		VpcId: vpc.ID(),
		Routes: ec2.RouteTableRouteArray{
			&ec2.RouteTableRouteArgs{CidrBlock: pulumi.String("0.0.0.0/0"), GatewayId: igw.ID()},
		},
		Tags: tags("-public"),
	}, parent)
	if err != nil {
		return fmt.Errorf("network %s: route table: %w", name, err)
	}

	var subnetIDs pulumi.StringArray
	for i, cidr := range subnetCIDRs {
		zone := zones.Names[i]
		subnetName := fmt.Sprintf("%s-public-%s", name, zone)
		subnet, err := ec2.NewSubnet(ctx, subnetName, &ec2.SubnetArgs{
			VpcId:            vpc.ID(),
			CidrBlock:        pulumi.String(cidr),
			AvailabilityZone: pulumi.String(zone),
			// Instances say for themselves whether they need a public address.
			MapPublicIpOnLaunch: pulumi.Bool(false),
			Tags:                tagMap(a.Tags, map[string]string{"Name": subnetName, "ams:tier": "public"}),
		}, parent)
		if err != nil {
			return fmt.Errorf("network %s: subnet in %s: %w", name, zone, err)
		}
		association, err := ec2.NewRouteTableAssociation(ctx, subnetName, &ec2.RouteTableAssociationArgs{
			SubnetId:     subnet.ID(),
			RouteTableId: routes.ID(),
		}, parent)
		if err != nil {
			return fmt.Errorf("network %s: route table association in %s: %w", name, zone, err)
		}
		// The subnet's ID is handed out only once the subnet routes to the
		// internet gateway, so that whatever is placed in it (an
		// internet-facing load balancer, an Elastic IP, a public instance)
		// depends on the gateway, the public route and the association.
		routed := pulumi.All(subnet.ID(), association.ID()).ApplyT(func(v []any) string {
			return string(v[0].(pulumi.ID))
		}).(pulumi.StringOutput)
		subnetIDs = append(subnetIDs, routed)
	}
	n.VpcID = vpc.ID().ToStringOutput()
	n.PublicSubnetIDs = subnetIDs.ToStringArrayOutput()
	return nil
}

// DefaultSubnetPrefixBits is what a zone's subnet adds to the VPC's prefix
// by default: 2, a quarter of the VPC per zone.
const DefaultSubnetPrefixBits = 2

// subnetCIDRs is the public subnets of the first count zones: zone i gets
// the i-th block of length prefix from the start of the VPC's range, so a
// zone's subnet never depends on how many zones there are.
func subnetCIDRs(vpcCIDR string, prefix, count int) ([]string, error) {
	vpc, err := parseIPv4CIDR(vpcCIDR)
	if err != nil {
		return nil, err
	}
	if vpc.Bits() < 16 || vpc.Bits() > 24 {
		return nil, fmt.Errorf("prefix /%d is outside /16../24", vpc.Bits())
	}
	if prefix <= vpc.Bits() || prefix > 28 {
		return nil, fmt.Errorf("subnet prefix /%d is not within %s and at most /28", prefix, vpcCIDR)
	}
	if count < 1 || count > 1<<(prefix-vpc.Bits()) {
		return nil, fmt.Errorf("%d subnets of /%d do not fit in %s", count, prefix, vpcCIDR)
	}
	base := vpc.Addr().As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16 | uint32(base[2])<<8 | uint32(base[3])
	size := uint32(1) << (32 - prefix)
	out := make([]string, count)
	for i := range out {
		v := start + uint32(i)*size
		addr := netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
		out[i] = netip.PrefixFrom(addr, prefix).String()
	}
	return out, nil
}

package components_test

import (
	"fmt"
	"sort"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// runExample runs a program under AWS-like mocks, as `pulumi up` would.
func runExample(program pulumi.RunFunc) *mockaws.Mocks {
	m := mockaws.New()
	if err := pulumi.RunErr(program, pulumi.WithMocks("example", "dev", m)); err != nil {
		fmt.Println("error:", err)
	}
	return m
}

// listeners are the listeners a program registered, as "PROTOCOL PORT", sorted.
func listeners(m *mockaws.Mocks) []string {
	var out []string
	for _, l := range m.OfType("aws:lb/listener:Listener") {
		out = append(out, fmt.Sprintf("%v %v", l.Inputs["protocol"].StringValue(), l.Inputs["port"].NumberValue()))
	}
	sort.Strings(out)
	return out
}

var (
	vpcID     = pulumi.String("vpc-0123456789abcdef0")
	subnetIDs = pulumi.StringArray{pulumi.String("subnet-0123456789abcdef0"), pulumi.String("subnet-0fedcba9876543210")}
)

// A load balancer in an existing VPC: publish listeners go to the origins,
// play listeners to the edges.
func ExampleNewStreamingLoadBalancer() {
	m := runExample(func(ctx *pulumi.Context) error {
		_, err := components.NewStreamingLoadBalancer(ctx, "live", &components.StreamingLoadBalancerArgs{
			VpcID: vpcID, SubnetIDs: subnetIDs,
		})
		return err
	})
	fmt.Println(listeners(m))
	// Output: [HTTP 5080 HTTP 80]
}

// RTMP and SRT ingest for the origin group, behind its own security group.
func ExampleNewIngestLoadBalancer() {
	m := runExample(func(ctx *pulumi.Context) error {
		_, err := components.NewIngestLoadBalancer(ctx, "live-ingest", &components.IngestLoadBalancerArgs{
			VpcID: vpcID, SubnetIDs: subnetIDs,
		})
		return err
	})
	fmt.Println(listeners(m))
	// Output: [TCP 1935 UDP 4200]
}

// One group per role, on any database whose URL is in an SSM parameter:
// the nodes wait for nothing else and go into service through their
// launching hook.
func ExampleNewScalingGroup() {
	m := runExample(func(ctx *pulumi.Context) error {
		_, err := components.NewScalingGroup(ctx, "live-edge", &components.ScalingGroupArgs{
			Role:                     components.RoleEdge,
			SubnetIDs:                subnetIDs,
			SecurityGroupIDs:         pulumi.StringArray{pulumi.String("sg-0123456789abcdef0")},
			DatabaseURLParameterName: pulumi.String("/live/atlas/url"),
			DatabaseURLParameterArn:  pulumi.String("arn:aws:ssm:eu-central-1:123456789012:parameter/live/atlas/url"),
		})
		return err
	})
	for _, h := range m.OfType("aws:autoscaling/lifecycleHook:LifecycleHook") {
		fmt.Println(h.Inputs["lifecycleTransition"].StringValue(), h.Inputs["defaultResult"].StringValue())
	}
	// Unordered output:
	// autoscaling:EC2_INSTANCE_LAUNCHING ABANDON
	// autoscaling:EC2_INSTANCE_TERMINATING CONTINUE
}

// A VPC of its own: one /19 public subnet per zone from the start of the
// range, room for eight zones; a fourth zone would add 10.30.96.0/19.
func ExampleNewNetwork() {
	m := runExample(func(ctx *pulumi.Context) error {
		_, err := components.NewNetwork(ctx, "live", &components.NetworkArgs{CidrBlock: "10.30.0.0/16", ZoneCount: 3, SubnetPrefixLength: 19})
		return err
	})
	var cidrs []string
	for _, s := range m.OfType("aws:ec2/subnet:Subnet") {
		cidrs = append(cidrs, s.Inputs["cidrBlock"].StringValue())
	}
	sort.Strings(cidrs)
	fmt.Println(cidrs)
	// Output: [10.30.0.0/19 10.30.32.0/19 10.30.64.0/19]
}

// The security group of every AMS node: who may reach what.
func ExampleNewNodeSecurityGroup() {
	m := runExample(func(ctx *pulumi.Context) error {
		_, err := components.NewNodeSecurityGroup(ctx, "live-ams", &components.NodeSecurityGroupArgs{VpcID: vpcID})
		return err
	})
	var rules []string
	for _, r := range m.OfType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		rules = append(rules, fmt.Sprintf("%s %v-%v", r.Inputs["ipProtocol"].StringValue(), r.Inputs["fromPort"].NumberValue(), r.Inputs["toPort"].NumberValue()))
	}
	sort.Strings(rules)
	fmt.Println(rules)
	// Output: [tcp 5000-5000 tcp 5080-5080 udp 50000-60000]
}

// A MongoDB node keeps its secrets and its readiness in SSM.
func ExampleNewMongoNode() {
	m := runExample(func(ctx *pulumi.Context) error {
		_, err := components.NewMongoNode(ctx, "live-mongo", &components.MongoNodeArgs{
			VpcID: vpcID, SubnetID: subnetIDs[0],
		})
		return err
	})
	var names []string
	for _, p := range m.OfType("aws:ssm/parameter:Parameter") {
		names = append(names, p.Inputs["name"].StringValue())
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Println(n)
	}
	// Output:
	// /example/dev/live-mongo/mongodb/admin-password
	// /example/dev/live-mongo/mongodb/app-password
	// /example/dev/live-mongo/mongodb/ready
	// /example/dev/live-mongo/mongodb/url
}

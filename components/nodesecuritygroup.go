package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Ports every AMS node serves.
const (
	// AMSHTTPPort serves HTTP, REST and WebSocket signaling; load balancers
	// forward to it and edges pull streams from origins over it.
	AMSHTTPPort = 5080
	// AMSClusterPort carries streams from origins to edges inside the cluster.
	AMSClusterPort = 5000
	// RTMPPort is RTMP ingest on origins.
	RTMPPort = 1935
)

// MinWebRTCPorts and MaxWebRTCPorts bound the width of the WebRTC UDP range:
// one port per peer connection needs a thousand on a busy node; Ant Media's
// own range is 10,001 ports, and twice that is already more than a node uses.
const (
	MinWebRTCPorts = 1000
	MaxWebRTCPorts = 20001
)

// StackPorts are the ports the stack serves or uses on its nodes, which the
// WebRTC range, open to the internet, may not cover.
func StackPorts() []int {
	return []int{RTMPPort, SRTPort, AMSClusterPort, AMSHTTPPort, 5443, MongoDBPort}
}

// coversStackPort reports whether min-max covers one of StackPorts.
func coversStackPort(min, max int) bool {
	for _, p := range StackPorts() {
		if p >= min && p <= max {
			return true
		}
	}
	return false
}

// NodeSecurityGroupArgs configures a NodeSecurityGroup.
type NodeSecurityGroupArgs struct {
	// VpcID is the VPC of the group. Required.
	VpcID pulumi.StringInput
	// LoadBalancerSecurityGroupIDs are the load balancers' groups allowed to
	// reach TCP 5080. Each also gets an egress rule to this group on 5080, its
	// only way out. Defaults to none.
	LoadBalancerSecurityGroupIDs pulumi.StringArray
	// IngestSecurityGroupIDs are the ingest load balancers' groups (an
	// IngestLoadBalancer) allowed to reach RTMP (TCP 1935) and SRT (UDP 4200),
	// the only way encoders reach the nodes, and the agents' health port.
	// Each also gets egress rules to this group on those ports. Defaults to
	// none: no node takes ingest.
	IngestSecurityGroupIDs pulumi.StringArray
	// WebRTCPortMin and WebRTCPortMax bound the UDP range that carries WebRTC
	// media straight between browsers and nodes: MinWebRTCPorts to
	// MaxWebRTCPorts ports, covering none of StackPorts. Default to 50000
	// and 60000, the range Ant Media Server uses.
	WebRTCPortMin, WebRTCPortMax int
	// AdminCIDR, when set, opens SSH to this IPv4 network, never to the whole
	// internet. Defaults to no SSH; use Session Manager.
	AdminCIDR string
	// Tags are added to the group. Defaults to none.
	Tags map[string]string
}

// NodeSecurityGroup is the one security group of every AMS node, origin or
// edge: WebRTC media from anywhere, HTTP from the load balancers and from
// cluster members, stream transfer between members only, and nothing else.
type NodeSecurityGroup struct {
	pulumi.ResourceState

	// SecurityGroupID is the group's ID.
	SecurityGroupID pulumi.StringOutput `pulumi:"securityGroupId"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *NodeSecurityGroupArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *NodeSecurityGroupArgs) withDefaults() (NodeSecurityGroupArgs, error) {
	const component = "NodeSecurityGroup"
	bad := fieldErrors{component: component}
	out := NodeSecurityGroupArgs{}
	if a != nil {
		out = *a
	}
	setDefaultInt(&out.WebRTCPortMin, 50000)
	setDefaultInt(&out.WebRTCPortMax, 60000)
	if out.VpcID == nil {
		bad.reject("VpcID", "", "a VPC ID (required)")
	}
	if out.WebRTCPortMin < 1024 || out.WebRTCPortMin > 65535 {
		bad.reject("WebRTCPortMin", out.WebRTCPortMin, "a UDP port from 1024 to 65535")
	}
	if width := out.WebRTCPortMax - out.WebRTCPortMin + 1; out.WebRTCPortMax > 65535 || width < MinWebRTCPorts || width > MaxWebRTCPorts ||
		coversStackPort(out.WebRTCPortMin, out.WebRTCPortMax) {
		bad.reject("WebRTCPortMax", out.WebRTCPortMax, fmt.Sprintf("a UDP port up to 65535 giving a range of %d to %d ports from WebRTCPortMin (%d), "+
			"covering none of the ports the stack serves or uses (%s)", MinWebRTCPorts, MaxWebRTCPorts, out.WebRTCPortMin, joinInts(StackPorts())))
	}
	bad.add(validateAdminAccess(component, out.AdminCIDR, "", false))
	return out, bad.err()
}

// NewNodeSecurityGroup creates the AMS nodes' security group and its rules.
func NewNodeSecurityGroup(ctx *pulumi.Context, name string, args *NodeSecurityGroupArgs, opts ...pulumi.ResourceOption) (*NodeSecurityGroup, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	g := &NodeSecurityGroup{}
	if err := ctx.RegisterComponentResource(typePrefix+"NodeSecurityGroup", name, g, opts...); err != nil {
		return nil, err
	}
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       a.VpcID,
		Description: pulumi.String("Ant Media Server nodes, origin and edge"),
		Tags:        tagMap(a.Tags, map[string]string{"Name": name}),
	}, pulumi.Parent(g))
	if err != nil {
		return nil, fmt.Errorf("node security group %s: %w", name, err)
	}
	self := sg.ID()
	rules := &ruleSet{ctx: ctx, group: self, parent: g}
	rules.ingressFromCIDR(name+"-webrtc", "udp", a.WebRTCPortMin, a.WebRTCPortMax, "0.0.0.0/0", "WebRTC media straight from browsers")
	rules.ingressFromGroup(name+"-http-cluster", "tcp", AMSHTTPPort, AMSHTTPPort, self, "HTTP between cluster members")
	rules.ingressFromGroup(name+"-stream-cluster", "tcp", AMSClusterPort, AMSClusterPort, self, "Origin to edge stream transfer")
	for i, lb := range a.LoadBalancerSecurityGroupIDs {
		rules.ingressFromGroup(fmt.Sprintf("%s-http-lb-%d", name, i), "tcp", AMSHTTPPort, AMSHTTPPort, lb, "HTTP from the load balancer")
		rules.ingressFromGroup(fmt.Sprintf("%s-health-lb-%d", name, i), "tcp", HealthPort, HealthPort, lb, "Health checks from the load balancer (the node agent)")
	}
	for i, nlb := range a.IngestSecurityGroupIDs {
		for _, p := range IngestPorts() {
			rules.ingressFromGroup(fmt.Sprintf("%s-%s-ingest-%d", name, p.Name, i), strings.ToLower(p.Protocol), p.Port, p.Port, nlb,
				fmt.Sprintf("%s ingest from the ingest load balancer", strings.ToUpper(p.Name)))
		}
		rules.ingressFromGroup(fmt.Sprintf("%s-health-ingest-%d", name, i), "tcp", HealthPort, HealthPort, nlb, "Health checks from the ingest load balancer (the node agent)")
	}
	if a.AdminCIDR != "" {
		rules.ingressFromCIDR(name+"-ssh", "tcp", 22, 22, a.AdminCIDR, "SSH from the admin network")
	}
	rules.egressAll(name + "-egress")
	if rules.err != nil {
		return nil, fmt.Errorf("node security group %s: %w", name, rules.err)
	}
	// The load balancers may open connections to the nodes' HTTP and health ports and nowhere else.
	for i, lb := range a.LoadBalancerSecurityGroupIDs {
		lbRules := &ruleSet{ctx: ctx, group: lb, parent: g}
		lbRules.egressToGroup(fmt.Sprintf("%s-lb-%d-to-nodes", name, i), "tcp", AMSHTTPPort, AMSHTTPPort, self, "Load balancer to AMS nodes")
		lbRules.egressToGroup(fmt.Sprintf("%s-lb-%d-health-to-nodes", name, i), "tcp", HealthPort, HealthPort, self, "Load balancer health checks to the node agents")
		if lbRules.err != nil {
			return nil, fmt.Errorf("node security group %s: %w", name, lbRules.err)
		}
	}
	for i, nlb := range a.IngestSecurityGroupIDs {
		nlbRules := &ruleSet{ctx: ctx, group: nlb, parent: g}
		for _, p := range IngestPorts() {
			nlbRules.egressToGroup(fmt.Sprintf("%s-ingest-%d-%s-to-nodes", name, i, p.Name), strings.ToLower(p.Protocol), p.Port, p.Port, self,
				fmt.Sprintf("Ingest load balancer to AMS nodes, %s", strings.ToUpper(p.Name)))
		}
		nlbRules.egressToGroup(fmt.Sprintf("%s-ingest-%d-health-to-nodes", name, i), "tcp", HealthPort, HealthPort, self, "Ingest load balancer health checks to the node agents")
		if nlbRules.err != nil {
			return nil, fmt.Errorf("node security group %s: %w", name, nlbRules.err)
		}
	}
	g.SecurityGroupID = sg.ID().ToStringOutput()
	if err := ctx.RegisterResourceOutputs(g, pulumi.Map{"securityGroupId": g.SecurityGroupID}); err != nil {
		return nil, err
	}
	return g, nil
}

package components

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// SRTPort is SRT ingest on origins, Ant Media Server's default SRT port.
const SRTPort = 4200

// IngestPort is one broadcast-encoder protocol the IngestLoadBalancer carries
// to the origin nodes, on the same port at both ends.
type IngestPort struct {
	// Name keys the port's target group, listener and rules ("rtmp", "srt").
	Name string
	// Protocol is the load balancer protocol, "TCP" or "UDP".
	Protocol string
	Port     int
}

// IngestPorts are the encoder protocols of Ant Media Server: RTMP on TCP
// 1935 and SRT on UDP 4200, both published to origins.
func IngestPorts() []IngestPort {
	return []IngestPort{
		{Name: "rtmp", Protocol: "TCP", Port: RTMPPort},
		{Name: "srt", Protocol: "UDP", Port: SRTPort},
	}
}

// IngestLoadBalancerArgs configures an IngestLoadBalancer.
type IngestLoadBalancerArgs struct {
	// VpcID is the VPC of the load balancer and its target groups. Required.
	VpcID pulumi.StringInput
	// SubnetIDs are public subnets, one per zone the load balancer serves. Required.
	SubnetIDs pulumi.StringArrayInput
	// IngressCIDRs may reach the ingest listeners. Defaults to ["0.0.0.0/0"].
	IngressCIDRs []string
	// HealthCheckIntervalSeconds is the time between probes, 5 to 300.
	// Defaults to 10, as on the StreamingLoadBalancer.
	HealthCheckIntervalSeconds int
	// HealthCheckTimeoutSeconds is how long a probe may take, 2 to 120 and
	// below the interval. Defaults to 5.
	HealthCheckTimeoutSeconds int
	// HealthyThreshold is the count of passed probes that makes a node
	// healthy, 2 to 10. Defaults to 2.
	HealthyThreshold int
	// UnhealthyThreshold is the count of failed probes that takes a node out,
	// 2 to 10. Defaults to 2: with the default interval a dead node is noticed
	// within 20 s, as fast as the StreamingLoadBalancer notices it.
	UnhealthyThreshold int
	// DeregistrationDelaySeconds is how long a leaving origin keeps its open
	// encoder connections, 0 to 3600. Defaults to 300.
	DeregistrationDelaySeconds int
	// DeletionProtection stops the load balancer from being deleted until it
	// is turned off again. Defaults to false.
	DeletionProtection bool
	// Tags are added to every resource the load balancer creates.
	Tags map[string]string
}

// IngestLoadBalancer is the Network Load Balancer that carries broadcast
// encoders' RTMP (TCP 1935) and SRT (UDP 4200) streams to the origin nodes.
// It has its own security group: give SecurityGroupID to the nodes'
// NodeSecurityGroup (IngestSecurityGroupIDs) so that the nodes take ingest
// from the load balancer only, and TargetGroupArns to the origin group.
type IngestLoadBalancer struct {
	pulumi.ResourceState

	// DNSName is the load balancer's public name.
	DNSName pulumi.StringOutput `pulumi:"dnsName"`
	// ZoneID is the Route 53 hosted zone of DNSName, for alias records.
	ZoneID pulumi.StringOutput `pulumi:"zoneId"`
	// Arn is the load balancer's ARN.
	Arn pulumi.StringOutput `pulumi:"arn"`
	// SecurityGroupID is the load balancer's own security group.
	SecurityGroupID pulumi.StringOutput `pulumi:"securityGroupId"`
	// TargetGroupArns are the target groups the origin nodes join, one per
	// IngestPorts() entry, in that order.
	TargetGroupArns pulumi.StringArrayOutput `pulumi:"targetGroupArns"`
	// ArnSuffix is the load balancer's CloudWatch dimension (net/<name>/<id>).
	ArnSuffix pulumi.StringOutput `pulumi:"arnSuffix"`
	// TargetGroupArnSuffixes are the target groups' CloudWatch dimensions,
	// in the order of TargetGroupArns.
	TargetGroupArnSuffixes pulumi.StringArrayOutput `pulumi:"targetGroupArnSuffixes"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *IngestLoadBalancerArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *IngestLoadBalancerArgs) withDefaults() (IngestLoadBalancerArgs, error) {
	const component = "IngestLoadBalancer"
	bad := fieldErrors{component: component}
	out := IngestLoadBalancerArgs{}
	if a != nil {
		out = *a
	}
	health := targetHealth{&out.HealthCheckIntervalSeconds, &out.HealthCheckTimeoutSeconds, &out.HealthyThreshold, &out.UnhealthyThreshold, &out.DeregistrationDelaySeconds}
	health.defaults()
	if len(out.IngressCIDRs) == 0 {
		out.IngressCIDRs = []string{"0.0.0.0/0"}
	}
	if out.VpcID == nil {
		bad.reject("VpcID", "", "a VPC ID (required)")
	}
	if out.SubnetIDs == nil {
		bad.reject("SubnetIDs", "", "public subnets, one per zone (required)")
	}
	health.validate(&bad)
	bad.add(validateIngressCIDRs(component, out.IngressCIDRs))
	return out, bad.err()
}

// NewIngestLoadBalancer creates the network load balancer, its security
// group, one target group and listener per ingest port.
func NewIngestLoadBalancer(ctx *pulumi.Context, name string, args *IngestLoadBalancerArgs, opts ...pulumi.ResourceOption) (*IngestLoadBalancer, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &IngestLoadBalancer{}
	if err := ctx.RegisterComponentResource(typePrefix+"IngestLoadBalancer", name, s, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(s)
	tags := func(suffix string, extra ...map[string]string) pulumi.StringMap {
		return tagMap(append([]map[string]string{a.Tags, {"Name": name + suffix}}, extra...)...)
	}

	// A network load balancer takes security groups only when it is created.
	sg, err := ec2.NewSecurityGroup(ctx, name, &ec2.SecurityGroupArgs{
		VpcId:       a.VpcID,
		Description: pulumi.String("RTMP and SRT ingest load balancer of the Ant Media cluster"),
		Tags:        tags(""),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("ingest load balancer %s: security group: %w", name, err)
	}
	rules := &ruleSet{ctx: ctx, group: sg.ID(), parent: s}
	for _, p := range IngestPorts() {
		rules.ingressFromCIDRs(fmt.Sprintf("%s-%s", name, p.Name), strings.ToLower(p.Protocol), p.Port, a.IngressCIDRs,
			fmt.Sprintf("%s ingest %s %d", strings.ToUpper(p.Name), p.Protocol, p.Port))
	}
	if rules.err != nil {
		return nil, fmt.Errorf("ingest load balancer %s: %w", name, rules.err)
	}

	nlb, err := lb.NewLoadBalancer(ctx, name, &lb.LoadBalancerArgs{
		LoadBalancerType: pulumi.String("network"),
		Internal:         pulumi.Bool(false),
		Subnets:          a.SubnetIDs,
		SecurityGroups:   pulumi.StringArray{sg.ID()},
		// Origins may all sit in one zone: every zone's node must reach them.
		EnableCrossZoneLoadBalancing: pulumi.Bool(true),
		EnableDeletionProtection:     pulumi.Bool(a.DeletionProtection),
		Tags:                         tags(""),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("ingest load balancer %s: %w", name, err)
	}

	var arns, suffixes pulumi.StringArray
	for _, p := range IngestPorts() {
		tg, err := lb.NewTargetGroup(ctx, name+"-"+p.Name, &lb.TargetGroupArgs{
			VpcId:               a.VpcID,
			Port:                pulumi.Int(p.Port),
			Protocol:            pulumi.String(p.Protocol),
			TargetType:          pulumi.String("instance"),
			DeregistrationDelay: pulumi.Int(a.DeregistrationDelaySeconds),
			HealthCheck: &lb.TargetGroupHealthCheckArgs{
				Enabled: pulumi.Bool(true),
				// Both groups probe the node's agent (UDP cannot be
				// probed), which answers 503 while the origin is full or
				// its Ant Media Server down (docs/capacity.md): a full
				// origin leaves the encoders' rotation as it leaves the
				// browsers'.
				Protocol:           pulumi.String("HTTP"),
				Port:               pulumi.String(strconv.Itoa(HealthPort)),
				Path:               pulumi.String(HealthPath),
				Matcher:            pulumi.String("200"),
				Interval:           pulumi.Int(a.HealthCheckIntervalSeconds),
				Timeout:            pulumi.Int(a.HealthCheckTimeoutSeconds),
				HealthyThreshold:   pulumi.Int(a.HealthyThreshold),
				UnhealthyThreshold: pulumi.Int(a.UnhealthyThreshold),
			},
			Tags: tags("-"+p.Name, map[string]string{"ams:role": RoleOrigin}),
		}, parent)
		if err != nil {
			return nil, fmt.Errorf("ingest load balancer %s: %s target group: %w", name, p.Name, err)
		}
		if _, err := lb.NewListener(ctx, name+"-"+p.Name, &lb.ListenerArgs{
			LoadBalancerArn: nlb.Arn,
			Port:            pulumi.Int(p.Port),
			Protocol:        pulumi.String(p.Protocol),
			DefaultActions: lb.ListenerDefaultActionArray{
				&lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: tg.Arn},
			},
			Tags: tags("-"+p.Name, map[string]string{"ams:role": RoleOrigin}),
		}, parent); err != nil {
			return nil, fmt.Errorf("ingest load balancer %s: %s listener: %w", name, p.Name, err)
		}
		arns = append(arns, tg.Arn)
		suffixes = append(suffixes, tg.ArnSuffix)
	}

	s.DNSName = nlb.DnsName
	s.ZoneID = nlb.ZoneId
	s.Arn = nlb.Arn
	s.SecurityGroupID = sg.ID().ToStringOutput()
	s.TargetGroupArns = arns.ToStringArrayOutput()
	s.ArnSuffix = nlb.ArnSuffix
	s.TargetGroupArnSuffixes = suffixes.ToStringArrayOutput()
	if err := ctx.RegisterResourceOutputs(s, pulumi.Map{
		"arnSuffix":              s.ArnSuffix,
		"targetGroupArnSuffixes": s.TargetGroupArnSuffixes,
		"dnsName":                s.DNSName,
		"zoneId":                 s.ZoneID,
		"arn":                    s.Arn,
		"securityGroupId":        s.SecurityGroupID,
		"targetGroupArns":        s.TargetGroupArns,
	}); err != nil {
		return nil, err
	}
	return s, nil
}

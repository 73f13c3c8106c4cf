package components

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TURNTLSPort is the port a TurnServer serves TURN over TLS on: 443, the
// one port that networks letting only HTTPS out still allow.
const TURNTLSPort = 443

// TurnHostName is the name the stack gives a TurnServer's nodes under a
// domain, one A record per node: "turn.live.example.com".
func TurnHostName(domain string) string { return "turn." + domain }

// TurnTLSHostName is the name of a TurnServer's TLS load balancer under a
// domain: "turns.live.example.com".
func TurnTLSHostName(domain string) string { return "turns." + domain }

// TurnDomain names a TurnServer's nodes in a Route 53 zone and, with a
// certificate, serves TURN over TLS on TURNTLSPort through a Network Load
// Balancer that holds the certificate, so that no private key is ever on
// a node.
type TurnDomain struct {
	// HostedZoneID is the public Route 53 hosted zone that holds Name and
	// TLSName. Required.
	HostedZoneID string
	// Name gets one A record per node, its Elastic IP: the name plain TURN
	// clients and stunServerURI use ("turn.live.example.com"). Required.
	Name string
	// TLSName is the load balancer's alias ("turns.live.example.com"), the
	// name CertificateArn is for. Required with CertificateArn.
	TLSName string
	// CertificateArn is an issued ACM certificate for TLSName. Defaults to
	// none: no TURN over TLS.
	CertificateArn pulumi.StringInput
	// TLSPolicy is the TLS listener's security policy, one of
	// TLSPolicies(). Defaults to "ELBSecurityPolicy-TLS13-1-2-2021-06"
	// (TLS 1.3 and 1.2 only).
	TLSPolicy string
	// DeletionProtection stops the TLS load balancer from being deleted
	// until it is turned off again. Defaults to false.
	DeletionProtection bool
}

// validate applies the defaults and reports what is not acceptable.
func (d *TurnDomain) validate(bad *fieldErrors) {
	setDefault(&d.TLSPolicy, "ELBSecurityPolicy-TLS13-1-2-2021-06")
	if !isHostedZoneID(d.HostedZoneID) {
		bad.reject("Domain.HostedZoneID", d.HostedZoneID, "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ")
	}
	if !isDomainName(d.Name) {
		bad.reject("Domain.Name", d.Name, "a lower-case host name such as turn.live.example.com")
	}
	if d.CertificateArn != nil && (!isDomainName(d.TLSName) || d.TLSName == d.Name) {
		bad.reject("Domain.TLSName", d.TLSName, "a lower-case host name other than Domain.Name, such as turns.live.example.com (required with a certificate)")
	}
	if !slices.Contains(TLSPolicies(), d.TLSPolicy) {
		bad.reject("Domain.TLSPolicy", d.TLSPolicy, strings.Join(TLSPolicies(), ", "))
	}
}

// turnNames is what a TurnServer's domain gives it: the target group its
// Auto Scaling group joins and the TLS load balancer's DNS name (nil and
// empty without TLS).
type turnNames struct {
	targetGroupArns pulumi.StringArray
	tlsDNSName      pulumi.StringOutput
}

// domain creates the nodes' A record and, with a certificate, the TLS load
// balancer and its alias.
func (t *TurnServer) domain(ctx *pulumi.Context, name string, a TurnServerArgs, tags pulumi.StringMap,
	nodesGroupID pulumi.StringInput, ips pulumi.StringArray,
) (turnNames, error) {
	out := turnNames{tlsDNSName: pulumi.String("").ToStringOutput()}
	d := a.Domain
	if d == nil {
		return out, nil
	}
	// Every node's address under one name: resolvers hand them out in
	// turn, so clients spread over the nodes. A node being replaced keeps
	// its address (its successor claims it), so the record never changes.
	if _, err := route53.NewRecord(ctx, name+"-nodes", &route53.RecordArgs{
		ZoneId:  pulumi.String(d.HostedZoneID),
		Name:    pulumi.String(d.Name),
		Type:    pulumi.String("A"),
		Ttl:     pulumi.Int(300),
		Records: ips,
	}, pulumi.Parent(t)); err != nil {
		return out, fmt.Errorf("turn server %s: node record: %w", name, err)
	}
	if d.CertificateArn == nil {
		return out, nil
	}
	nlb, targetGroup, err := t.tlsLoadBalancer(ctx, name, a, tags, nodesGroupID)
	if err != nil {
		return out, err
	}
	if _, err := NewDomainAlias(ctx, name+"-tls", &DomainAliasArgs{
		HostedZoneID: d.HostedZoneID, Name: d.TLSName, TargetDNSName: nlb.DnsName, TargetZoneID: nlb.ZoneId,
	}, pulumi.Parent(t)); err != nil {
		return out, fmt.Errorf("turn server %s: %w", name, err)
	}
	out.targetGroupArns = pulumi.StringArray{targetGroup.Arn}
	out.tlsDNSName = nlb.DnsName
	return out, nil
}

// tlsLoadBalancer creates the Network Load Balancer that ends TLS on
// TURNTLSPort with the certificate and forwards plain TCP to coturn's
// TURNPort on the nodes, keeping the client's address (coturn reports it
// to the client, and its quotas and logs see real clients).
func (t *TurnServer) tlsLoadBalancer(ctx *pulumi.Context, name string, a TurnServerArgs, tags pulumi.StringMap,
	nodesGroupID pulumi.StringInput,
) (*lb.LoadBalancer, *lb.TargetGroup, error) {
	parent := pulumi.Parent(t)
	lbName := name + "-tls"
	// A network load balancer takes security groups only when it is created.
	sg, err := ec2.NewSecurityGroup(ctx, lbName, &ec2.SecurityGroupArgs{
		VpcId:       a.VpcID,
		Description: pulumi.String("TURN over TLS load balancer: TLS 443 from anywhere, TURN TCP to the TURN nodes"),
		Tags:        tags,
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("turn server %s: load balancer security group: %w", name, err)
	}
	rules := &ruleSet{ctx: ctx, group: sg.ID(), parent: t}
	rules.ingressFromCIDR(lbName+"-tls", "tcp", TURNTLSPort, TURNTLSPort, "0.0.0.0/0", "TURN over TLS")
	// Forwarded connections and health checks; the nodes admit TCP 3478
	// from anywhere already (client addresses are preserved).
	rules.egressToGroup(lbName+"-to-nodes", "tcp", TURNPort, TURNPort, nodesGroupID, "TURN over TCP to the TURN nodes")
	if rules.err != nil {
		return nil, nil, fmt.Errorf("turn server %s: load balancer rules: %w", name, rules.err)
	}
	nlb, err := lb.NewLoadBalancer(ctx, lbName, &lb.LoadBalancerArgs{
		LoadBalancerType: pulumi.String("network"),
		Internal:         pulumi.Bool(false),
		Subnets:          a.SubnetIDs,
		SecurityGroups:   pulumi.StringArray{sg.ID()},
		// The nodes may be fewer than the zones: every zone's load
		// balancer node must reach them.
		EnableCrossZoneLoadBalancing: pulumi.Bool(true),
		EnableDeletionProtection:     pulumi.Bool(a.Domain.DeletionProtection),
		Tags:                         tags,
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("turn server %s: load balancer: %w", name, err)
	}
	tg, err := lb.NewTargetGroup(ctx, lbName, &lb.TargetGroupArgs{
		VpcId:            a.VpcID,
		Port:             pulumi.Int(TURNPort),
		Protocol:         pulumi.String("TCP"),
		TargetType:       pulumi.String("instance"),
		PreserveClientIp: pulumi.String("true"),
		HealthCheck: &lb.TargetGroupHealthCheckArgs{
			Enabled:            pulumi.Bool(true),
			Protocol:           pulumi.String("TCP"),
			Port:               pulumi.String(strconv.Itoa(TURNPort)),
			Interval:           pulumi.Int(10),
			HealthyThreshold:   pulumi.Int(2),
			UnhealthyThreshold: pulumi.Int(2),
		},
		Tags: tags,
	}, parent)
	if err != nil {
		return nil, nil, fmt.Errorf("turn server %s: target group: %w", name, err)
	}
	if _, err := lb.NewListener(ctx, lbName, &lb.ListenerArgs{
		LoadBalancerArn: nlb.Arn,
		Port:            pulumi.Int(TURNTLSPort),
		Protocol:        pulumi.String("TLS"),
		CertificateArn:  a.Domain.CertificateArn,
		SslPolicy:       pulumi.String(a.Domain.TLSPolicy),
		DefaultActions: lb.ListenerDefaultActionArray{
			&lb.ListenerDefaultActionArgs{Type: pulumi.String("forward"), TargetGroupArn: tg.Arn},
		},
		Tags: tags,
	}, parent); err != nil {
		return nil, nil, fmt.Errorf("turn server %s: TLS listener: %w", name, err)
	}
	return nlb, tg, nil
}

// turnURIs are the URIs clients are given: per node address without a
// domain; with one, the nodes' name over UDP and TCP and, with TLS, the
// load balancer's name on TURNTLSPort.
func turnURIs(d *TurnDomain, ips []string) []string {
	var uris []string
	if d != nil {
		for _, transport := range []string{"udp", "tcp"} {
			uris = append(uris, fmt.Sprintf("turn:%s:%d?transport=%s", d.Name, TURNPort, transport))
		}
		if d.CertificateArn != nil {
			uris = append(uris, fmt.Sprintf("turns:%s:%d?transport=tcp", d.TLSName, TURNTLSPort))
		}
		return uris
	}
	for _, transport := range []string{"udp", "tcp"} {
		for _, ip := range ips {
			uris = append(uris, fmt.Sprintf("turn:%s:%d?transport=%s", ip, TURNPort, transport))
		}
	}
	return uris
}

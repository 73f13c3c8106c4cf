package components

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/vpc"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// ruleSet adds one standalone rule resource per rule to a security group, so
// that groups can name each other without a dependency cycle. The first
// error sticks and later calls do nothing.
type ruleSet struct {
	ctx    *pulumi.Context
	group  pulumi.StringInput
	parent pulumi.Resource
	err    error
}

func (r *ruleSet) ingressFromGroup(name, protocol string, from, to int, source pulumi.StringInput, description string) {
	r.ingress(name, &vpc.SecurityGroupIngressRuleArgs{
		IpProtocol:                pulumi.String(protocol),
		FromPort:                  pulumi.Int(from),
		ToPort:                    pulumi.Int(to),
		ReferencedSecurityGroupId: source,
		Description:               pulumi.String(description),
	})
}

func (r *ruleSet) ingressFromCIDR(name, protocol string, from, to int, cidr, description string, opts ...pulumi.ResourceOption) {
	r.ingress(name, &vpc.SecurityGroupIngressRuleArgs{
		IpProtocol:  pulumi.String(protocol),
		FromPort:    pulumi.Int(from),
		ToPort:      pulumi.Int(to),
		CidrIpv4:    pulumi.String(cidr),
		Description: pulumi.String(description),
	}, opts...)
}

// ingressFromCIDRs admits each network of a list on one port. Each rule is
// named by what it admits (prefix, then the network), so that reordering or
// shortening the list touches only the rules whose network changed; the
// positional names of earlier releases (prefix-<index>) are aliases, so
// existing stacks keep their rules.
func (r *ruleSet) ingressFromCIDRs(prefix, protocol string, port int, cidrs []string, description string) {
	for i, cidr := range cidrs {
		r.ingressFromCIDR(prefix+"-from-"+cidrName(cidr), protocol, port, port, cidr, description,
			pulumi.Aliases([]pulumi.Alias{{Name: pulumi.String(fmt.Sprintf("%s-%d", prefix, i))}}))
	}
}

// cidrName is a network as it appears in a resource name: 10.0.0.0/8 -> 10.0.0.0-8.
func cidrName(cidr string) string {
	return strings.ReplaceAll(strings.TrimSpace(cidr), "/", "-")
}

func (r *ruleSet) ingress(name string, args *vpc.SecurityGroupIngressRuleArgs, opts ...pulumi.ResourceOption) {
	if r.err != nil {
		return
	}
	args.SecurityGroupId = r.group
	_, r.err = vpc.NewSecurityGroupIngressRule(r.ctx, name, args, append([]pulumi.ResourceOption{pulumi.Parent(r.parent)}, opts...)...)
}

// egressAll lets the group's members open connections anywhere: package
// repositories, AWS APIs and, for AMS nodes, WebRTC peers.
func (r *ruleSet) egressAll(name string) {
	r.egress(name, &vpc.SecurityGroupEgressRuleArgs{
		IpProtocol:  pulumi.String("-1"),
		CidrIpv4:    pulumi.String("0.0.0.0/0"),
		Description: pulumi.String("All outbound traffic"),
	})
}

func (r *ruleSet) egressToGroup(name, protocol string, from, to int, target pulumi.StringInput, description string) {
	r.egress(name, &vpc.SecurityGroupEgressRuleArgs{
		IpProtocol:                pulumi.String(protocol),
		FromPort:                  pulumi.Int(from),
		ToPort:                    pulumi.Int(to),
		ReferencedSecurityGroupId: target,
		Description:               pulumi.String(description),
	})
}

func (r *ruleSet) egress(name string, args *vpc.SecurityGroupEgressRuleArgs) {
	if r.err != nil {
		return
	}
	args.SecurityGroupId = r.group
	_, r.err = vpc.NewSecurityGroupEgressRule(r.ctx, name, args, pulumi.Parent(r.parent))
}

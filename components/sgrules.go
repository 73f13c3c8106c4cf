package components

import (
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

func (r *ruleSet) ingressFromCIDR(name, protocol string, from, to int, cidr, description string) {
	r.ingress(name, &vpc.SecurityGroupIngressRuleArgs{
		IpProtocol:  pulumi.String(protocol),
		FromPort:    pulumi.Int(from),
		ToPort:      pulumi.Int(to),
		CidrIpv4:    pulumi.String(cidr),
		Description: pulumi.String(description),
	})
}

func (r *ruleSet) ingress(name string, args *vpc.SecurityGroupIngressRuleArgs) {
	if r.err != nil {
		return
	}
	args.SecurityGroupId = r.group
	_, r.err = vpc.NewSecurityGroupIngressRule(r.ctx, name, args, pulumi.Parent(r.parent))
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

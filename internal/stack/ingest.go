package stack

import (
	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// entryWiring carries what the domain, access log and ingest resources give
// the load balancer, the node security group and the origin group.
type entryWiring struct {
	issuedCertificateArn  pulumi.StringInput
	accessLogsBucket      pulumi.StringInput
	ingestSecurityGroupID pulumi.StringInput
	ingestTargetGroupArns pulumi.StringArrayOutput
}

// buildIngest creates the IngestLoadBalancer when ingest is on.
func buildIngest(ctx *pulumi.Context, base string, cfg *Config, w *wiring) (*components.IngestLoadBalancer, error) {
	if !cfg.Ingest {
		return nil, nil
	}
	ingest, err := components.NewIngestLoadBalancer(ctx, base+"-ingest", cfg.ingestArgs(*w))
	if err != nil {
		return nil, err
	}
	w.ingestSecurityGroupID = ingest.SecurityGroupID
	w.ingestTargetGroupArns = ingest.TargetGroupArns
	return ingest, nil
}

func (c *Config) ingestArgs(w wiring) *components.IngestLoadBalancerArgs {
	return &components.IngestLoadBalancerArgs{
		VpcID:                      w.vpcID,
		SubnetIDs:                  w.subnetIDs,
		IngressCIDRs:               c.IngressCIDRs,
		HealthCheckIntervalSeconds: c.HealthCheckIntervalSeconds,
		HealthyThreshold:           c.HealthyThreshold,
		UnhealthyThreshold:         c.UnhealthyThreshold,
		DeregistrationDelaySeconds: c.DrainSeconds,
		DeletionProtection:         c.DeletionProtection,
		Tags:                       c.tags(),
	}
}

// targetGroupArns are the target groups a role's nodes join: the ALB's
// group of the role and, for origins, the ingest groups.
func (c *Config) targetGroupArns(role components.Role, w wiring) pulumi.StringArray {
	arns := pulumi.StringArray{w.targetGroupArn}
	if role == components.RoleOrigin && w.ingestSecurityGroupID != nil {
		for i := range components.IngestPorts() {
			arns = append(arns, w.ingestTargetGroupArns.Index(pulumi.Int(i)))
		}
	}
	return arns
}

// nodeIngestGroups are the ingest load balancer groups the nodes admit RTMP and SRT from.
func (w wiring) nodeIngestGroups() pulumi.StringArray {
	if w.ingestSecurityGroupID == nil {
		return nil
	}
	return pulumi.StringArray{w.ingestSecurityGroupID}
}

// addIngestOutputs exports where encoders publish: rtmpUrl and srtUrl, with
// the demo stream id the README plays back from the edge.
func addIngestOutputs(out Outputs, cfg *Config, ingest *components.IngestLoadBalancer) {
	if ingest == nil {
		return
	}
	host := ingestHost(cfg, ingest)
	out["ingestDnsName"] = ingest.DNSName
	out["rtmpUrl"] = pulumi.Sprintf("rtmp://%s/%s/%s", host, demoApp, demoStreamID)
	out["srtUrl"] = pulumi.Sprintf("srt://%s:%d?streamid=%s/%s", host, components.SRTPort, demoApp, demoStreamID)
}

// ingestHost is the name encoders reach the NLB by: ingest.<domain> when
// there is a domain, else the NLB's DNS name.
func ingestHost(cfg *Config, ingest *components.IngestLoadBalancer) pulumi.StringOutput {
	if cfg.DomainName != "" {
		return pulumi.String(components.IngestHostName(cfg.DomainName)).ToStringOutput()
	}
	return ingest.DNSName
}

// demoStreamID is the stream id the README publishes and plays.
const demoStreamID = "stream1"

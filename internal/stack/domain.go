package stack

import (
	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// buildCertificateAndLogs creates what the ALB needs before it exists: the
// domain's certificate (with domainName) and the access log bucket (with
// accessLogs).
func buildCertificateAndLogs(ctx *pulumi.Context, base string, cfg *Config, w *wiring) error {
	if cfg.DomainName != "" {
		cert, err := components.NewDomainCertificate(ctx, base+"-certificate", &components.DomainCertificateArgs{
			DomainName:   cfg.DomainName,
			HostedZoneID: cfg.HostedZoneID,
			Tags:         cfg.tags(),
		})
		if err != nil {
			return err
		}
		w.issuedCertificateArn = cert.CertificateArn
	}
	if cfg.AccessLogs {
		logs, err := components.NewAccessLogBucket(ctx, base+"-access-logs", cfg.accessLogArgs())
		if err != nil {
			return err
		}
		w.accessLogsBucket = logs.BucketName
	}
	return nil
}

// withEntry completes the ALB's arguments with the certificate, redirects,
// deletion protection and access logs.
func (c *Config) withEntry(args *components.StreamingLoadBalancerArgs, w wiring) *components.StreamingLoadBalancerArgs {
	args.IssuedCertificateArn = w.issuedCertificateArn
	args.PlainHTTP = c.PlainHTTP
	args.DeletionProtection = c.DeletionProtection
	args.AccessLogsBucket = w.accessLogsBucket
	return args
}

// buildAliases names the load balancers in the domain: domainName for the
// ALB and, with ingest, ingest.<domainName> for the NLB.
func buildAliases(ctx *pulumi.Context, base string, cfg *Config, alb *components.StreamingLoadBalancer, ingest *components.IngestLoadBalancer) error {
	if cfg.DomainName == "" {
		return nil
	}
	if _, err := components.NewDomainAlias(ctx, base+"-domain", &components.DomainAliasArgs{
		HostedZoneID: cfg.HostedZoneID, Name: cfg.DomainName, TargetDNSName: alb.DNSName, TargetZoneID: alb.ZoneID,
	}); err != nil {
		return err
	}
	if ingest == nil {
		return nil
	}
	_, err := components.NewDomainAlias(ctx, base+"-ingest-domain", &components.DomainAliasArgs{
		HostedZoneID: cfg.HostedZoneID, Name: components.IngestHostName(cfg.DomainName), TargetDNSName: ingest.DNSName, TargetZoneID: ingest.ZoneID,
	})
	return err
}

// accessLogArgs are the arguments of the access log bucket.
func (c *Config) accessLogArgs() *components.AccessLogBucketArgs {
	return &components.AccessLogBucketArgs{RetentionDays: c.AccessLogRetentionDays, Tags: c.tags()}
}

package tests

import (
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestEntryComponentsRejectBadArgumentsByFieldAndAcceptedValues(t *testing.T) {
	vpc, subnet := pulumi.String("vpc-0a1b2c3d4e5f60718"), pulumi.String("subnet-0a1b2c3d4e5f60718")
	for _, tc := range []struct {
		name string
		fn   func(ctx *pulumi.Context) error
		want string
	}{
		{"ingest without VPC", func(ctx *pulumi.Context) error {
			_, err := components.NewIngestLoadBalancer(ctx, "x", &components.IngestLoadBalancerArgs{SubnetIDs: pulumi.StringArray{subnet}})
			return err
		}, "IngestLoadBalancer: VpcID"},
		{"ingest health check slower than its interval", func(ctx *pulumi.Context) error {
			_, err := components.NewIngestLoadBalancer(ctx, "x", &components.IngestLoadBalancerArgs{VpcID: vpc, SubnetIDs: pulumi.StringArray{subnet}, HealthCheckTimeoutSeconds: 10})
			return err
		}, "IngestLoadBalancer: HealthCheckTimeoutSeconds = 10 is not valid; accepted: 2 to 120 seconds and below the interval (10)"},
		{"ingest from an address without prefix", func(ctx *pulumi.Context) error {
			_, err := components.NewIngestLoadBalancer(ctx, "x", &components.IngestLoadBalancerArgs{VpcID: vpc, SubnetIDs: pulumi.StringArray{subnet}, IngressCIDRs: []string{"198.51.100.7"}})
			return err
		}, `IngestLoadBalancer: IngressCIDRs = "198.51.100.7" is not valid`},
		{"certificate for a URL", func(ctx *pulumi.Context) error {
			_, err := components.NewDomainCertificate(ctx, "x", &components.DomainCertificateArgs{DomainName: "https://live.example.com/", HostedZoneID: testZoneID})
			return err
		}, `DomainCertificate: DomainName = "https://live.example.com/" is not valid; accepted: a lower-case host name`},
		{"certificate without zone", func(ctx *pulumi.Context) error {
			_, err := components.NewDomainCertificate(ctx, "x", &components.DomainCertificateArgs{DomainName: testDomain})
			return err
		}, `DomainCertificate: HostedZoneID = "" is not valid; accepted: a Route 53 hosted zone ID`},
		{"alias without target", func(ctx *pulumi.Context) error {
			_, err := components.NewDomainAlias(ctx, "x", &components.DomainAliasArgs{HostedZoneID: testZoneID, Name: testDomain})
			return err
		}, "DomainAlias: TargetDNSName"},
		{"log prefix AWS reserves", func(ctx *pulumi.Context) error {
			_, err := components.NewAccessLogBucket(ctx, "x", &components.AccessLogBucketArgs{Prefix: "awslogs"})
			return err
		}, `AccessLogBucket: Prefix = "awslogs" is not valid; accepted: lower-case letters, digits and hyphens, up to 63, without AWSLogs`},
		{"logs kept for ever", func(ctx *pulumi.Context) error {
			_, err := components.NewAccessLogBucket(ctx, "x", &components.AccessLogBucketArgs{RetentionDays: 5000})
			return err
		}, "AccessLogBucket: RetentionDays = 5000 is not valid; accepted: 1 to 3650 days"},
		{"two certificates on one load balancer", func(ctx *pulumi.Context) error {
			_, err := components.NewStreamingLoadBalancer(ctx, "x", &components.StreamingLoadBalancerArgs{VpcID: vpc, SubnetIDs: pulumi.StringArray{subnet},
				CertificateArn: testCertificate, IssuedCertificateArn: pulumi.String(testCertificate)})
			return err
		}, "StreamingLoadBalancer: IssuedCertificateArn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := runComponents(t, tc.fn)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if len(r.resources) != 0 {
				t.Errorf("%d resources registered by a component that rejected its arguments", len(r.resources))
			}
		})
	}
}

// TestIngestLoadBalancerAsALibrary wires the component into another stack
// with its defaults, children named from it and parented to it.
func TestIngestLoadBalancerAsALibrary(t *testing.T) {
	r, err := runComponents(t, func(ctx *pulumi.Context) error {
		_, err := components.NewIngestLoadBalancer(ctx, "live-ingest", &components.IngestLoadBalancerArgs{
			VpcID: pulumi.String("vpc-0a1b2c3d4e5f60718"), SubnetIDs: pulumi.StringArray{pulumi.String("subnet-0a1b2c3d4e5f60718"), pulumi.String("subnet-0b1c2d3e4f5a60718")},
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	component := r.one(t, "ams:cluster:IngestLoadBalancer", "live-ingest")
	for _, res := range r.resources {
		if res == component {
			continue
		}
		// The harness names URNs after its own project; compare the parent's type and name.
		if !strings.HasSuffix(res.Parent, "::ams:cluster:IngestLoadBalancer::live-ingest") || !strings.HasPrefix(res.Name, "live-ingest") {
			t.Errorf("%s %s: parent %s, want the component and a name from it", res.Type, res.Name, res.Parent)
		}
	}
	for _, tg := range r.ofType("aws:lb/targetGroup:TargetGroup") {
		expectInputs(t, tg, map[string]string{"healthCheck.interval": "10", "healthCheck.unhealthyThreshold": "2", "healthCheck.healthyThreshold": "2", "deregistrationDelay": "300"})
	}
	var world int
	for _, rule := range r.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		if rule.str("cidrIpv4") == "0.0.0.0/0" {
			world++
		}
	}
	if world != 2 {
		t.Errorf("%d world-open rules, want RTMP and SRT", world)
	}
}

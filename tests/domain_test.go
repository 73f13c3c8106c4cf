package tests

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

func TestCertificateIsValidatedByDNSInTheZoneAndUsedByTheHTTPSListeners(t *testing.T) {
	r := deploy(t, map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID})
	cert := r.one(t, "aws:acm/certificate:Certificate", "")
	expectInputs(t, cert, map[string]string{"domainName": testDomain, "validationMethod": "DNS"})
	option := unsecret(cert.State["domainValidationOptions"]).ArrayValue()[0]

	var validationRecords []*registered
	for _, rec := range r.ofType("aws:route53/record:Record") {
		if rec.str("type") == "CNAME" {
			validationRecords = append(validationRecords, rec)
		}
	}
	if len(validationRecords) != 1 {
		t.Fatalf("%d validation records, want 1", len(validationRecords))
	}
	record := validationRecords[0]
	expectInputs(t, record, map[string]string{
		"zoneId":    testZoneID,
		"name":      lookup(option, "resourceRecordName").StringValue(),
		"type":      lookup(option, "resourceRecordType").StringValue(),
		"records.0": lookup(option, "resourceRecordValue").StringValue(),
	})

	validation := r.one(t, "aws:acm/certificateValidation:CertificateValidation", "")
	certArn := stateString(cert, "arn")
	expectInputs(t, validation, map[string]string{"certificateArn": certArn, "validationRecordFqdns.0": stateString(record, "fqdn")})

	https := 0
	for _, l := range r.ofType("aws:lb/listener:Listener") {
		if l.str("protocol") != "HTTPS" {
			continue
		}
		https++
		if l.str("certificateArn") != certArn {
			t.Errorf("listener %s uses %q, want the domain's certificate %q", l.Name, l.str("certificateArn"), certArn)
		}
		// The listener takes the ARN from the validation, so `pulumi up` waits for ACM to issue it.
		if !slices.Contains(l.Dependencies, validation.URN) {
			t.Errorf("listener %s does not wait for the certificate validation; depends on %v", l.Name, l.Dependencies)
		}
	}
	if https != 2 {
		t.Errorf("%d HTTPS listeners, want 443 and 5443", https)
	}
}

func TestAliasRecordsPointAtTheRightLoadBalancer(t *testing.T) {
	r := deploy(t, map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID})
	alb, nlb := r.alb(t), r.nlb(t)
	got := map[string]string{}
	for _, rec := range r.ofType("aws:route53/record:Record") {
		if rec.str("type") == "CNAME" {
			continue
		}
		if rec.str("zoneId") != testZoneID || rec.str("aliases.0.evaluateTargetHealth") != "true" {
			t.Errorf("record %s in zone %q, evaluateTargetHealth %q", rec.Name, rec.str("zoneId"), rec.str("aliases.0.evaluateTargetHealth"))
		}
		target := "?"
		for _, lb := range []*registered{alb, nlb} {
			if rec.str("aliases.0.name") == stateString(lb, "dnsName") && rec.str("aliases.0.zoneId") == stateString(lb, "zoneId") {
				target = lb.str("loadBalancerType")
			}
		}
		got[rec.str("type")+" "+rec.str("name")] = target
	}
	want := map[string]string{"A " + testDomain: "application", "A ingest." + testDomain: "network"}
	if len(got) != len(want) || got["A "+testDomain] != want["A "+testDomain] || got["A ingest."+testDomain] != want["A ingest."+testDomain] {
		t.Errorf("alias records %v, want %v (no AAAA: the ALB is IPv4 only)", got, want)
	}
	// Without ingest, no ingest name.
	r = deploy(t, map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID, "ingest": "false"})
	for _, rec := range r.ofType("aws:route53/record:Record") {
		if strings.HasPrefix(rec.str("name"), "ingest.") {
			t.Errorf("record %s with ingest off", rec.str("name"))
		}
	}
}

func TestDomainAliasAddsAAAAForADualStackTarget(t *testing.T) {
	for _, dual := range []bool{false, true} {
		r, err := runComponents(t, func(ctx *pulumi.Context) error {
			_, err := components.NewDomainAlias(ctx, "live", &components.DomainAliasArgs{
				HostedZoneID: testZoneID, Name: testDomain, DualStack: dual,
				TargetDNSName: pulumi.String("dualstack.live-123.eu-central-1.elb.amazonaws.com"), TargetZoneID: pulumi.String("Z215JYRZR1TBD5"),
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, rec := range r.ofType("aws:route53/record:Record") {
			types = append(types, rec.str("type"))
			if rec.str("aliases.0.zoneId") != "Z215JYRZR1TBD5" || rec.str("name") != testDomain {
				t.Errorf("%s record %s -> zone %s", rec.str("type"), rec.str("name"), rec.str("aliases.0.zoneId"))
			}
		}
		slices.Sort(types)
		if want := map[bool]string{false: "A", true: "A AAAA"}[dual]; strings.Join(types, " ") != want {
			t.Errorf("DualStack=%v: records %v, want %s", dual, types, want)
		}
	}
}

func TestDomainCertificateRefusesAZoneThatCannotServeTheName(t *testing.T) {
	for _, tc := range []struct {
		name, domain, zone, want string
	}{
		{"name outside the zone", "live.example.org", testZoneID, `DomainCertificate: DomainName = "live.example.org" is not valid; accepted: a name inside the hosted zone ` + testZoneID + " (example.com)"},
		{"private zone", "live.corp.example.com", testPrivateZoneID, "DomainCertificate: HostedZoneID = \"" + testPrivateZoneID + "\" is not valid; accepted: a public hosted zone"},
		{"unknown zone", testDomain, "Z9999999999999999999", "no matching Route 53 Hosted Zone found"},
		{"name longer than ACM takes", strings.Repeat("a", 60) + ".example.com", testZoneID, "at most 64 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := runComponents(t, func(ctx *pulumi.Context) error {
				_, err := components.NewDomainCertificate(ctx, "live", &components.DomainCertificateArgs{DomainName: tc.domain, HostedZoneID: tc.zone})
				return err
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
			if len(r.resources) != 0 {
				t.Errorf("%d resources registered for a certificate that cannot be validated", len(r.resources))
			}
		})
	}
}

// accessLogPolicy is the access log bucket's policy, parsed.
type accessLogPolicy struct {
	Statement []struct {
		Sid       string
		Effect    string
		Principal any
		Action    any
		Resource  any
		Condition map[string]map[string]string
	}
}

func TestAccessLogBucketLetsExactlyLogDeliveryWriteExactlyTheLogPrefix(t *testing.T) {
	r := deploy(t, map[string]string{"accessLogs": "true", "accessLogRetentionDays": "30"})
	bucket := r.one(t, "aws:s3/bucketV2:BucketV2", "")
	name, arn := stateString(bucket, "bucket"), stateString(bucket, "arn")

	block := r.one(t, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "")
	expectInputs(t, block, map[string]string{"bucket": name, "blockPublicAcls": "true", "blockPublicPolicy": "true", "ignorePublicAcls": "true", "restrictPublicBuckets": "true"})
	expectInputs(t, r.one(t, "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2", ""),
		map[string]string{"bucket": name, "rules.0.applyServerSideEncryptionByDefault.sseAlgorithm": "AES256"})
	expectInputs(t, r.one(t, "aws:s3/bucketOwnershipControls:BucketOwnershipControls", ""),
		map[string]string{"bucket": name, "rule.objectOwnership": "BucketOwnerEnforced"})
	expectInputs(t, r.one(t, "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2", ""),
		map[string]string{"bucket": name, "rules.0.status": "Enabled", "rules.0.filter.prefix": "alb/", "rules.0.expiration.days": "30"})
	if bucket.str("forceDestroy") != "false" {
		t.Errorf("forceDestroy %q: a destroy must not delete the logs", bucket.str("forceDestroy"))
	}

	policy := r.one(t, "aws:s3/bucketPolicy:BucketPolicy", "")
	if policy.str("bucket") != name {
		t.Errorf("policy on bucket %q, want %q", policy.str("bucket"), name)
	}
	var doc accessLogPolicy
	if err := json.Unmarshal([]byte(policy.str("policy")), &doc); err != nil {
		t.Fatalf("policy is not JSON: %v\n%s", err, policy.str("policy"))
	}
	var allows []string
	for _, s := range doc.Statement {
		switch s.Effect {
		case "Allow":
			b, _ := json.Marshal([]any{s.Principal, s.Action, s.Resource})
			allows = append(allows, string(b))
		case "Deny":
			if s.Condition["Bool"]["aws:SecureTransport"] != "false" {
				t.Errorf("deny statement %s does not target insecure transport: %v", s.Sid, s.Condition)
			}
		}
	}
	// eu-central-1 predates August 2022: its Elastic Load Balancing account writes.
	want := `[{"AWS":"arn:aws:iam::054676820928:root"},"s3:PutObject","` + arn + `/alb/AWSLogs/` + account + `/*"]`
	if len(allows) != 1 || allows[0] != want {
		t.Errorf("policy allows %v, want exactly %s", allows, want)
	}

	alb := r.alb(t)
	expectInputs(t, alb, map[string]string{"accessLogs.bucket": name, "accessLogs.prefix": "alb", "accessLogs.enabled": "true"})
	// Elastic Load Balancing tests its write access when logging is turned on.
	if !slices.Contains(alb.Dependencies, policy.URN) {
		t.Errorf("the ALB does not wait for the bucket policy; depends on %v", alb.Dependencies)
	}

	r = deploy(t, nil)
	if n := len(r.ofType("aws:s3/bucketV2:BucketV2")); n != 0 || r.alb(t).input("accessLogs").IsObject() {
		t.Errorf("dev stack: %d buckets, access logs %v; want none", n, r.alb(t).input("accessLogs"))
	}
}

func TestAccessLogBucketPrincipalFollowsTheProviderRegion(t *testing.T) {
	// The component asks the provider for its region.
	m := inRegion{mocks: newMocks(), region: "ap-southeast-4"}
	var policy string
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		logs, err := components.NewAccessLogBucket(ctx, "melbourne-logs", &components.AccessLogBucketArgs{Prefix: "live"})
		if err != nil {
			return err
		}
		_, err = internals.UnsafeAwaitOutput(ctx.Context(), logs.BucketName)
		return err
	}, pulumi.WithMocks("other-stack", "prod", m))
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range m.recorded(nil).resources {
		if res.Type == "aws:s3/bucketPolicy:BucketPolicy" {
			policy = res.str("policy")
		}
	}
	if !strings.Contains(policy, `"Principal":{"Service":"logdelivery.elasticloadbalancing.amazonaws.com"}`) || !strings.Contains(policy, "/live/AWSLogs/"+account+"/*") {
		t.Errorf("policy in ap-southeast-4:\n%s", policy)
	}
}

// TestDeletionProtectionFollowsConfiguration: every load balancer of the
// stack, the TURN-over-TLS one included, is protected alike.
func TestDeletionProtectionFollowsConfiguration(t *testing.T) {
	for _, on := range []string{"false", "true"} {
		r := deploy(t, map[string]string{"deletionProtection": on, "turn": "true", "domainName": testDomain, "hostedZoneId": testZoneID})
		balancers := r.ofType("aws:lb/loadBalancer:LoadBalancer")
		if len(balancers) != 3 {
			t.Fatalf("%d load balancers, want the cluster's, the ingest and the TURN-over-TLS one", len(balancers))
		}
		for _, lb := range balancers {
			if got := lb.str("enableDeletionProtection"); got != on {
				t.Errorf("deletionProtection=%s: %s load balancer has %q", on, lb.str("loadBalancerType"), got)
			}
		}
	}
}

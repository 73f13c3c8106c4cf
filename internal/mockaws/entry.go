package mockaws

// Mock answers for the ways into the cluster: network load balancers, ACM
// certificates, Route 53 zones and records, S3 buckets, the caller identity.
// mockaws.go consults these from the default branches of NewResource and
// Call; the caller holds m.mu.

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Hosted zones the mock Route 53 knows.
const (
	// ZoneID is a public zone, example.com.
	ZoneID   = "Z0123456789ABCDEFGHIJ"
	ZoneName = "example.com"
	// PrivateZoneID is a private zone, corp.example.com.
	PrivateZoneID = "Z0PRIVATE000000000001"
	// nlbZoneID is the hosted zone of network load balancers in eu-central-1;
	// application load balancers there use Z215JYRZR1TBD5.
	nlbZoneID = "Z3F0SRJ5LGBH90"
)

// networkLoadBalancer answers for a load balancer of type network: its ARN,
// DNS name (no number in it, unlike an ALB's) and zone are those of an NLB.
func networkLoadBalancer(set func(string, any), arn func(string, string) string, name, h string) string {
	id := arn("elasticloadbalancing", "loadbalancer/net/"+name+"/"+h[:16])
	set("arn", id)
	set("dnsName", fmt.Sprintf("%s-%s.elb.%s.amazonaws.com", name, h[:16], Region))
	set("zoneId", nlbZoneID)
	return id
}

// newEntryResource answers for the resource types the domain and access log
// components create; ok is false for any other type.
func (m *Mocks) newEntryResource(args pulumi.MockResourceArgs,
	set func(string, any), arn func(string, string) string, h string,
) (id string, ok bool) {
	str := func(k string) string {
		if v := Unsecret(args.Inputs[resource.PropertyKey(k)]); v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	switch args.TypeToken {
	case "aws:acm/certificate:Certificate":
		uuid := fmt.Sprintf("%s-%s-4%s-8%s-%s", h[:8], h[8:12], m.hex(args.Name+"u", 3), m.hex(args.Name+"v", 3), m.hex(args.Name+"w", 12))
		id = arn("acm", "certificate/"+uuid)
		set("arn", id)
		set("status", "PENDING_VALIDATION")
		domain := str("domainName")
		set("domainValidationOptions", []any{map[string]any{
			"domainName":          domain,
			"resourceRecordName":  "_" + m.hex(domain+"name", 32) + "." + domain + ".",
			"resourceRecordType":  "CNAME",
			"resourceRecordValue": "_" + m.hex(domain+"value", 32) + ".xlfgrmvvlj.acm-validations.aws.",
		}})
		return id, true
	case "aws:acm/certificateValidation:CertificateValidation":
		return "2026-03-01 12:00:00 +0000 UTC", true
	case "aws:route53/record:Record":
		name := strings.ToLower(strings.TrimSuffix(str("name"), "."))
		set("fqdn", name)
		return str("zoneId") + "_" + name + "_" + str("type"), true
	case "aws:s3/bucketV2:BucketV2":
		bucket := strings.ToLower(args.Name + "-" + m.hex(args.Name, 7))
		set("bucket", bucket)
		set("arn", "arn:aws:s3:::"+bucket)
		set("bucketDomainName", bucket+".s3.amazonaws.com")
		set("region", Region)
		return bucket, true
	case "aws:s3/bucketPolicy:BucketPolicy", "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
		"aws:s3/bucketOwnershipControls:BucketOwnershipControls", "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
		"aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2":
		return str("bucket"), true
	}
	return "", false
}

// callEntry answers the invokes of the domain and access log components.
func (m *Mocks) callEntry(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	arg := func(k string) string {
		if v := Unsecret(args.Args[resource.PropertyKey(k)]); v.IsString() {
			return v.StringValue()
		}
		return ""
	}
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": Account, "accountId": Account, "arn": "arn:aws:iam::" + Account + ":user/deployer", "userId": "AIDA" + m.hex("deployer", 17),
		}), nil
	case "aws:route53/getZone:getZone":
		zones := map[string]struct {
			name    string
			private bool
		}{ZoneID: {ZoneName, false}, PrivateZoneID: {"corp." + ZoneName, true}}
		id := arg("zoneId")
		z, ok := zones[id]
		if !ok {
			return nil, fmt.Errorf("no matching Route 53 Hosted Zone found")
		}
		return resource.NewPropertyMapFromMap(map[string]any{
			"id": id, "zoneId": id, "name": z.name, "privateZone": z.private,
			"arn":         "arn:aws:route53:::hostedzone/" + id,
			"nameServers": []any{"ns-1.awsdns-01.org", "ns-2.awsdns-02.co.uk"}, "resourceRecordSetCount": 2,
		}), nil
	}
	return nil, fmt.Errorf("mock: unexpected invoke %s", args.Token)
}

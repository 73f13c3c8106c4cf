package components

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/acm"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/route53"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var (
	domainNamePattern   = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$`)
	hostedZoneIDPattern = regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`)
)

// isDomainName reports whether s is a fully qualified host name such as
// "live.example.com": lower-case labels, no scheme, port, wildcard or
// trailing dot, at most 253 characters.
func isDomainName(s string) bool {
	return len(s) <= 253 && domainNamePattern.MatchString(s)
}

// isHostedZoneID reports whether s looks like a Route 53 hosted zone ID such
// as "Z0123456789ABCDEFGHIJ".
func isHostedZoneID(s string) bool { return hostedZoneIDPattern.MatchString(s) }

// IngestHostName is the name the stack gives the IngestLoadBalancer under a
// domain: "ingest.live.example.com" for "live.example.com".
func IngestHostName(domain string) string { return "ingest." + domain }

// ACMMaxDomainLength is the longest name ACM puts in a certificate's subject.
const ACMMaxDomainLength = 64

// DomainCertificateArgs configures a DomainCertificate.
type DomainCertificateArgs struct {
	// DomainName is the name the certificate is for, e.g. "live.example.com",
	// at most 64 characters. Required.
	DomainName string
	// HostedZoneID is the existing public Route 53 hosted zone that holds
	// DomainName; the validation record goes there. Required.
	HostedZoneID string
	// Tags are added to the certificate.
	Tags map[string]string
}

// DomainCertificate is an ACM certificate for one domain name, validated by
// a DNS record in the domain's Route 53 zone. CertificateArn is known only
// once ACM has issued the certificate, so a listener that uses it waits for
// the validation.
type DomainCertificate struct {
	pulumi.ResourceState

	// CertificateArn is the ARN of the issued certificate.
	CertificateArn pulumi.StringOutput `pulumi:"certificateArn"`
	// DomainName is the name the certificate is for.
	DomainName pulumi.StringOutput `pulumi:"domainName"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *DomainCertificateArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *DomainCertificateArgs) withDefaults() (DomainCertificateArgs, error) {
	const component = "DomainCertificate"
	bad := fieldErrors{component: component}
	out := DomainCertificateArgs{}
	if a != nil {
		out = *a
	}
	if !isDomainName(out.DomainName) || len(out.DomainName) > ACMMaxDomainLength {
		bad.reject("DomainName", out.DomainName,
			"a lower-case host name of at most 64 characters such as live.example.com (no scheme, port, wildcard or trailing dot)")
	}
	if !isHostedZoneID(out.HostedZoneID) {
		bad.reject("HostedZoneID", out.HostedZoneID, "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ")
	}
	return out, bad.err()
}

// NewDomainCertificate checks that the hosted zone is public and holds the
// domain, then requests the certificate, creates its validation record and
// waits for ACM to issue it.
func NewDomainCertificate(ctx *pulumi.Context, name string, args *DomainCertificateArgs, opts ...pulumi.ResourceOption) (*DomainCertificate, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	zone, err := route53.LookupZone(ctx, &route53.LookupZoneArgs{ZoneId: pulumi.StringRef(a.HostedZoneID)})
	if err != nil {
		return nil, fmt.Errorf("domain certificate %s: hosted zone %s: %w", name, a.HostedZoneID, err)
	}
	zoneName := strings.TrimSuffix(strings.ToLower(zone.Name), ".")
	if a.DomainName != zoneName && !strings.HasSuffix(a.DomainName, "."+zoneName) {
		return nil, argErr("DomainCertificate", "DomainName", a.DomainName,
			fmt.Sprintf("a name inside the hosted zone %s (%s), such as live.%s", a.HostedZoneID, zoneName, zoneName))
	}
	if zone.PrivateZone != nil && *zone.PrivateZone {
		return nil, argErr("DomainCertificate", "HostedZoneID", a.HostedZoneID,
			fmt.Sprintf("a public hosted zone (%s is private: neither ACM nor browsers can resolve it)", zoneName))
	}

	c := &DomainCertificate{}
	if err := ctx.RegisterComponentResource(typePrefix+"DomainCertificate", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
	cert, err := acm.NewCertificate(ctx, name, &acm.CertificateArgs{
		DomainName:       pulumi.String(a.DomainName),
		ValidationMethod: pulumi.String("DNS"),
		Tags:             tagMap(a.Tags, map[string]string{"Name": a.DomainName}),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("domain certificate %s: %w", name, err)
	}
	option := cert.DomainValidationOptions.ApplyT(func(options []acm.CertificateDomainValidationOption) (acm.CertificateDomainValidationOption, error) {
		for _, o := range options {
			if o.DomainName != nil && *o.DomainName == a.DomainName {
				return o, nil
			}
		}
		return acm.CertificateDomainValidationOption{}, fmt.Errorf("ACM gave no DNS validation record for %s", a.DomainName)
	}).(acm.CertificateDomainValidationOptionOutput)
	record, err := route53.NewRecord(ctx, name+"-validation", &route53.RecordArgs{
		ZoneId:  pulumi.String(a.HostedZoneID),
		Name:    option.ResourceRecordName().Elem(),
		Type:    option.ResourceRecordType().Elem(),
		Records: pulumi.StringArray{option.ResourceRecordValue().Elem()},
		Ttl:     pulumi.Int(60),
		// A replacement certificate for the same name gets the same record.
		AllowOverwrite: pulumi.Bool(true),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("domain certificate %s: validation record: %w", name, err)
	}
	validation, err := acm.NewCertificateValidation(ctx, name, &acm.CertificateValidationArgs{
		CertificateArn:        cert.Arn,
		ValidationRecordFqdns: pulumi.StringArray{record.Fqdn},
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("domain certificate %s: validation: %w", name, err)
	}

	c.CertificateArn = validation.CertificateArn
	c.DomainName = pulumi.String(a.DomainName).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"certificateArn": c.CertificateArn,
		"domainName":     c.DomainName,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// DomainAliasArgs configures a DomainAlias.
type DomainAliasArgs struct {
	// HostedZoneID is the public Route 53 hosted zone that holds Name. Required.
	HostedZoneID string
	// Name is the record's name, e.g. "live.example.com". Required.
	Name string
	// TargetDNSName is the load balancer's DNS name. Required.
	TargetDNSName pulumi.StringInput
	// TargetZoneID is the load balancer's own hosted zone ID. Required.
	TargetZoneID pulumi.StringInput
	// DualStack also creates an AAAA record, for a load balancer that
	// answers on IPv6. Defaults to false: an A record only.
	DualStack bool
}

// DomainAlias is the Route 53 alias record (A, and AAAA when dual-stack)
// that gives a load balancer a name in the user's domain.
type DomainAlias struct {
	pulumi.ResourceState

	// FQDN is the record's name.
	FQDN pulumi.StringOutput `pulumi:"fqdn"`
}

// Validate applies the defaults to a copy of the arguments and reports the
// first one that is not acceptable.
func (a *DomainAliasArgs) Validate() error {
	_, err := a.withDefaults()
	return err
}

func (a *DomainAliasArgs) withDefaults() (DomainAliasArgs, error) {
	const component = "DomainAlias"
	bad := fieldErrors{component: component}
	out := DomainAliasArgs{}
	if a != nil {
		out = *a
	}
	if !isHostedZoneID(out.HostedZoneID) {
		bad.reject("HostedZoneID", out.HostedZoneID, "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ")
	}
	if !isDomainName(out.Name) {
		bad.reject("Name", out.Name, "a lower-case host name such as live.example.com")
	}
	if out.TargetDNSName == nil || out.TargetZoneID == nil {
		bad.reject("TargetDNSName", "", "the load balancer's DNS name and hosted zone ID (required)")
	}
	return out, bad.err()
}

// NewDomainAlias creates the alias records of one name.
func NewDomainAlias(ctx *pulumi.Context, name string, args *DomainAliasArgs, opts ...pulumi.ResourceOption) (*DomainAlias, error) {
	a, err := args.withDefaults()
	if err != nil {
		return nil, err
	}
	d := &DomainAlias{}
	if err := ctx.RegisterComponentResource(typePrefix+"DomainAlias", name, d, opts...); err != nil {
		return nil, err
	}
	types := []string{"A"}
	if a.DualStack {
		types = append(types, "AAAA")
	}
	var fqdn pulumi.StringOutput
	for _, typ := range types {
		record, err := route53.NewRecord(ctx, name+"-"+strings.ToLower(typ), &route53.RecordArgs{
			ZoneId: pulumi.String(a.HostedZoneID),
			Name:   pulumi.String(a.Name),
			Type:   pulumi.String(typ),
			Aliases: route53.RecordAliasArray{&route53.RecordAliasArgs{
				Name:   a.TargetDNSName,
				ZoneId: a.TargetZoneID,
				// Route 53 stops answering with a load balancer that has no healthy target.
				EvaluateTargetHealth: pulumi.Bool(true),
			}},
		}, pulumi.Parent(d))
		if err != nil {
			return nil, fmt.Errorf("domain alias %s: %s record: %w", name, typ, err)
		}
		if typ == "A" {
			fqdn = record.Fqdn
		}
	}
	d.FQDN = fqdn
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{"fqdn": d.FQDN}); err != nil {
		return nil, err
	}
	return d, nil
}

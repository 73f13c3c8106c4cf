package stack

import (
	"errors"
	"strconv"
	"strings"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// EntryConfig is the configuration of the ways into the cluster beyond the
// ALB's listeners: RTMP/SRT ingest, the stack's own domain, redirects and
// load balancer hygiene.
type EntryConfig struct {
	// Ingest creates the IngestLoadBalancer (RTMP, SRT). Key ingest, default true.
	Ingest bool
	// DomainName and HostedZoneID give the cluster a name and an ACM
	// certificate. Keys domainName, hostedZoneId, set together.
	DomainName   string
	HostedZoneID string
	// PlainHTTP keeps 80 and 5080 forwarding when there is a certificate.
	PlainHTTP bool
	// DeletionProtection protects the stack's load balancers.
	DeletionProtection bool
	// AccessLogs sends the ALB's access logs to a bucket the stack creates,
	// kept AccessLogRetentionDays days.
	AccessLogs             bool
	AccessLogRetentionDays int
	// RequireHTTPS refuses to deploy without a certificate (production).
	RequireHTTPS bool
}

// HTTPSEnabled tells whether the HTTPS listeners exist: with a configured
// certificate or one the stack requests for its domain.
func (c *Config) HTTPSEnabled() bool {
	return c.CertificateArn != "" || c.DomainName != ""
}

// publicHost is the name users reach the ALB by: the domain when there is one.
func (c *Config) publicHost(dnsName pulumi.StringOutput) pulumi.StringOutput {
	if c.DomainName != "" {
		return pulumi.String(c.DomainName).ToStringOutput()
	}
	return dnsName
}

// readEntry reads the entry keys of c and checks them against each other
// and against certificateArn.
func (r *reader) entry(c *Config) EntryConfig {
	e := EntryConfig{
		Ingest:                 r.booleanOr("ingest", true),
		DomainName:             r.str("domainName"),
		HostedZoneID:           r.str("hostedZoneId"),
		PlainHTTP:              r.boolean("plainHttp"),
		DeletionProtection:     r.boolean("deletionProtection"),
		AccessLogs:             r.boolean("accessLogs"),
		AccessLogRetentionDays: r.integer("accessLogRetentionDays"),
		RequireHTTPS:           r.boolean("requireHttps"),
	}
	switch {
	case e.DomainName != "" && c.CertificateArn != "":
		r.fail("domainName", e.DomainName, "empty when certificateArn is set: either the stack requests a certificate for "+
			"domainName, or it uses certificateArn, not both")
	case e.DomainName != "" && e.HostedZoneID == "":
		r.fail("hostedZoneId", e.HostedZoneID, "the ID of the Route 53 public hosted zone that holds "+e.DomainName+
			" (domainName and hostedZoneId are set together)")
	case e.DomainName == "" && e.HostedZoneID != "":
		r.fail("domainName", e.DomainName, "the name to give the cluster inside hosted zone "+e.HostedZoneID+
			", such as live.example.com (domainName and hostedZoneId are set together)")
	case e.DomainName != "":
		keys := map[string]string{"DomainName": "domainName", "HostedZoneID": "hostedZoneId"}
		for _, err := range leafErrors((&components.DomainCertificateArgs{DomainName: e.DomainName, HostedZoneID: e.HostedZoneID}).Validate()) {
			var argErr *components.ArgError
			if errors.As(err, &argErr) {
				r.fail(keys[argErr.Field], argErr.Value, inKeys(argErr.Accepted, keys))
			}
		}
	case e.RequireHTTPS && c.CertificateArn == "":
		r.fail("domainName", "", "a domain name with hostedZoneId, or else certificateArn: this stack sets requireHttps, "+
			"so it will not build a cluster on plain HTTP (browsers refuse the camera to HTTP pages)")
	}
	return e
}

// booleanOr reads true or false; an absent key reads as def.
func (r *reader) booleanOr(key string, def bool) bool {
	raw, ok := r.try(key)
	if !ok {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(raw))
	if err != nil {
		r.fail(key, raw, "true or false")
		return def
	}
	return b
}

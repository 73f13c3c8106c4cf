package stack

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// adminPrefixBound is the widest admin network (adminCidr, adminCidrs)
// accepted without allowWideAdminCidrs: a /16, 65,536 addresses, one
// organisation's network at most. The components refuse 0.0.0.0/0 always.
const adminPrefixBound = 16

// guardrails reports settings that AWS would accept but that open the
// cluster further than anybody means to: admin networks wider than
// adminPrefixBound. The components hold the other guardrails (WebRTC
// range, instance types, warm pool); databaseUrlParameter's is in
// externalDatabase.
func (c *Config) guardrails(r *reader) {
	if c.AllowWideAdminCIDRs {
		return
	}
	wide := func(cidr string) bool {
		p, err := netip.ParsePrefix(strings.TrimSpace(cidr))
		return err == nil && p.Addr().Is4() && p.Bits() > 0 && p.Bits() < adminPrefixBound
	}
	accepted := fmt.Sprintf("an IPv4 network of /%d or narrower, e.g. 203.0.113.7/32 (set allowWideAdminCidrs to accept a wider one)", adminPrefixBound)
	if wide(c.AdminCIDR) {
		r.fail("adminCidr", c.AdminCIDR, accepted)
	}
	for _, cidr := range c.AdminCIDRs {
		if wide(cidr) {
			r.fail("adminCidrs", cidr, accepted)
			break
		}
	}
}

// regionChecks compares the settings with the region the stack deploys to:
// a certificate from another region, or more zones than the region has,
// would fail only at deployment. A look-up that answers nothing (no
// region, no zones) checks nothing.
func (c *Config) regionChecks(ctx *pulumi.Context, r *reader) error {
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return fmt.Errorf("configuration: region: %w", err)
	}
	if parts := strings.Split(c.CertificateArn, ":"); region.Name != "" && len(parts) > 3 && parts[2] == "acm" && parts[3] != region.Name {
		r.fail("certificateArn", c.CertificateArn, "an ACM certificate of this stack's region, "+region.Name+
			" (a load balancer takes certificates of its own region only)")
	}
	if c.ExistingVpcID != "" || c.ZoneCount < 2 || c.ZoneCount > 6 {
		return nil
	}
	zones, err := aws.GetAvailabilityZones(ctx, &aws.GetAvailabilityZonesArgs{State: pulumi.StringRef("available")})
	if err != nil {
		return fmt.Errorf("configuration: availability zones: %w", err)
	}
	if n := len(zones.Names); n > 0 && c.ZoneCount > n {
		r.fail("zoneCount", c.ZoneCount, fmt.Sprintf("2 to %d, the availability zones of %s", n, region.Name))
	}
	return nil
}

package stack

import (
	"fmt"
	"net/netip"
	"strings"
)

// adminPrefixBound is the widest admin network (adminCidr, adminCidrs)
// accepted without allowWideAdminCidrs: a /16, 65,536 addresses, one
// organisation's network at most. The components refuse 0.0.0.0/0 always.
const adminPrefixBound = 16

// guardrails reports settings that AWS would accept but that open the
// cluster further than anybody means to: admin networks wider than
// adminPrefixBound.
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

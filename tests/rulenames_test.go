package tests

import (
	"slices"
	"strings"
	"testing"
)

// Security-group rules for configured networks are named by what they
// admit, not by their position, so that reordering ingressCidrs changes
// nothing and dropping one network removes only its rules. Existing stacks
// keep their rules through aliases from the positional names.

func TestReorderedIngressCidrsRegisterIdenticalResources(t *testing.T) {
	first := inputsByResource(deploy(t, map[string]string{"ingressCidrs": `["198.51.100.0/24","203.0.113.0/24"]`}))
	second := inputsByResource(deploy(t, map[string]string{"ingressCidrs": `["203.0.113.0/24","198.51.100.0/24"]`}))
	if len(first) != len(second) {
		t.Fatalf("reordering registered %d resources, then %d", len(first), len(second))
	}
	for _, k := range keys(first) {
		if first[k] != second[k] {
			t.Errorf("%s changed when ingressCidrs was reordered:\n  %.200s\n  %.200s", k, first[k], second[k])
		}
	}
}

func TestNetworkRulesAreNamedByTheirNetworkWithTheirOldNamesAsAliases(t *testing.T) {
	r := deploy(t, map[string]string{"ingressCidrs": `["198.51.100.0/24","203.0.113.0/24"]`})
	cidrRules := 0
	for _, rule := range r.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") {
		cidr := rule.str("cidrIpv4")
		if cidr != "198.51.100.0/24" && cidr != "203.0.113.0/24" {
			continue
		}
		cidrRules++
		if !strings.HasSuffix(rule.Name, "-from-"+strings.ReplaceAll(cidr, "/", "-")) {
			t.Errorf("rule %s admits %s but is not named by it", rule.Name, cidr)
		}
		index := map[string]string{"198.51.100.0/24": "0", "203.0.113.0/24": "1"}[cidr]
		old := strings.TrimSuffix(rule.Name, "-from-"+strings.ReplaceAll(cidr, "/", "-")) + "-" + index
		if !slices.Contains(rule.AliasNames, old) {
			t.Errorf("rule %s has aliases %v, want its former name %s so that existing stacks keep it", rule.Name, rule.AliasNames, old)
		}
	}
	// Listeners 80 and 5080 on the ALB, RTMP and SRT on the NLB, for two networks.
	if cidrRules != 8 {
		t.Errorf("%d rules for the configured networks, want 8", cidrRules)
	}
}

package components

import (
	"strings"
	"testing"
)

func TestSubnetCIDRsGiveEachZoneAFixedBlock(t *testing.T) {
	for _, tc := range []struct {
		vpc           string
		prefix, count int
		want          []string
	}{
		// The layouts of networks created before SubnetPrefixLength existed.
		{"10.20.0.0/16", 18, 2, []string{"10.20.0.0/18", "10.20.64.0/18"}},
		{"10.20.0.0/16", 19, 3, []string{"10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19"}},
		{"10.20.0.0/16", 19, 4, []string{"10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19", "10.20.96.0/19"}},
		{"192.168.8.0/24", 26, 2, []string{"192.168.8.0/26", "192.168.8.64/26"}},
		{"172.16.0.0/20", 24, 6, []string{"172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24", "172.16.3.0/24", "172.16.4.0/24", "172.16.5.0/24"}},
		// Growing: the first zones keep their blocks.
		{"10.20.0.0/16", 18, 4, []string{"10.20.0.0/18", "10.20.64.0/18", "10.20.128.0/18", "10.20.192.0/18"}},
	} {
		got, err := subnetCIDRs(tc.vpc, tc.prefix, tc.count)
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("subnetCIDRs(%s, /%d, %d) = %v, %v; want %v", tc.vpc, tc.prefix, tc.count, got, err, tc.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/8", "10.20.0.0/25", "10.20.0.1/16", "fd00::/64", "nonsense"} {
		if got, err := subnetCIDRs(bad, 26, 2); err == nil {
			t.Errorf("subnetCIDRs(%s) = %v, want an error", bad, got)
		}
	}
	if got, err := subnetCIDRs("10.20.0.0/16", 18, 5); err == nil {
		t.Errorf("five /18s in a /16 = %v, want an error", got)
	}
}

// Every zone count keeps the subnets of the smaller counts.
func TestAddingZonesKeepsTheExistingSubnets(t *testing.T) {
	for _, prefix := range []int{18, 19} {
		prev, _ := subnetCIDRs("10.20.0.0/16", prefix, 2)
		for count := 3; count <= 1<<(prefix-16) && count <= 6; count++ {
			got, err := subnetCIDRs("10.20.0.0/16", prefix, count)
			if err != nil || strings.Join(got[:len(prev)], " ") != strings.Join(prev, " ") {
				t.Errorf("/%d, %d zones: %v (%v), want the %d-zone subnets %v first", prefix, count, got, err, count-1, prev)
			}
			prev = got
		}
	}
}

package components

import (
	"strings"
	"testing"
)

func TestSubnetCIDRsSplitTheLowerHalfOfTheVPC(t *testing.T) {
	for _, tc := range []struct {
		vpc   string
		count int
		want  []string
	}{
		{"10.20.0.0/16", 2, []string{"10.20.0.0/18", "10.20.64.0/18"}},
		{"10.20.0.0/16", 3, []string{"10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19"}},
		{"10.20.0.0/16", 4, []string{"10.20.0.0/19", "10.20.32.0/19", "10.20.64.0/19", "10.20.96.0/19"}},
		{"192.168.8.0/24", 2, []string{"192.168.8.0/26", "192.168.8.64/26"}},
		{"172.16.0.0/20", 6, []string{"172.16.0.0/24", "172.16.1.0/24", "172.16.2.0/24", "172.16.3.0/24", "172.16.4.0/24", "172.16.5.0/24"}},
	} {
		got, err := subnetCIDRs(tc.vpc, tc.count)
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("subnetCIDRs(%s, %d) = %v, %v; want %v", tc.vpc, tc.count, got, err, tc.want)
		}
	}
	for _, bad := range []string{"10.0.0.0/8", "10.20.0.0/25", "10.20.0.1/16", "fd00::/64", "nonsense"} {
		if got, err := subnetCIDRs(bad, 2); err == nil {
			t.Errorf("subnetCIDRs(%s) = %v, want an error", bad, got)
		}
	}
}

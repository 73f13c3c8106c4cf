package coturn

import (
	"net/netip"
	"testing"
)

// The model reads ranges as coturn does: MIN-MAX and single addresses
// deny, CIDR notation is dropped (it denies nothing), and IPv6 compares
// byte by byte.
func TestPeerCheckFollowsCoturn(t *testing.T) {
	c := Parse(`# comment
denied-peer-ip=10.0.0.0-10.255.255.255
denied-peer-ip 172.16.0.0-172.31.255.255
denied-peer-ip=192.168.0.0/16
denied-peer-ip=fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff
allowed-peer-ip=10.1.2.3
no-multicast-peers
`)
	if len(c.Dropped) != 1 || c.Dropped[0] != "denied-peer-ip=192.168.0.0/16" {
		t.Errorf("dropped lines: %q, want the CIDR line alone", c.Dropped)
	}
	cases := []struct {
		addr string
		ok   bool
	}{
		{"10.0.0.0", false}, {"10.255.255.255", false}, {"11.0.0.0", true}, {"9.255.255.255", true},
		{"172.20.1.1", false}, {"192.168.1.1", true /* its CIDR line was dropped */},
		{"10.1.2.3", true /* allowed before denied */}, {"224.0.0.1", false}, {"127.0.0.1", false},
		{"0.0.0.0", false}, {"fd00:ec2::254", false}, {"fe80::1", true}, {"::1", false}, {"2001:db8::1", true},
	}
	for _, tc := range cases {
		if ok, why := c.PeerAllowed(netip.MustParseAddr(tc.addr)); ok != tc.ok {
			t.Errorf("peer %s: allowed %v (%s), want %v", tc.addr, ok, why, tc.ok)
		}
	}
}

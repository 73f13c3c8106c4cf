package components

import (
	"errors"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/sandbox/coturn"
)

// turnNodeForTest is a TURN node's data as NewTurnServer renders it for a
// VPC of 10.0.0.0/16.
func turnNodeForTest(t *testing.T) TurnNode {
	t.Helper()
	denied := []string{}
	for _, cidr := range append([]string{"10.0.0.0/16"}, DeniedPeerNetworks()...) {
		r, err := PeerRange(cidr)
		if err != nil {
			t.Fatal(err)
		}
		denied = append(denied, r)
	}
	return TurnNode{
		Region: "eu-central-1", Realm: "ams-cluster-dev", User: "ams", PasswordParameter: "/ams-cluster/dev/turn/password",
		AddressTagKey: GroupTagKey, AddressTagValue: "ams-cluster/dev/turn", LaunchHookName: "turn-ready",
		ListeningPort: TURNPort, RelayPortMin: 49152, RelayPortMax: 65535, UserQuota: 2000, TotalQuota: 2000,
		DeniedPeerRanges: denied,
	}
}

func TestPeerRangeWritesCoturnRanges(t *testing.T) {
	for cidr, want := range map[string]string{
		"10.0.0.0/8":     "10.0.0.0-10.255.255.255",
		"172.16.0.0/12":  "172.16.0.0-172.31.255.255",
		"100.64.0.0/10":  "100.64.0.0-100.127.255.255",
		"10.20.0.0/16":   "10.20.0.0-10.20.255.255",
		"0.0.0.0/8":      "0.0.0.0-0.255.255.255",
		"::1/128":        "::1",
		"fe80::/10":      "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"fc00::/7":       "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		"203.0.113.7/32": "203.0.113.7",
	} {
		if got, err := PeerRange(cidr); err != nil || got != want {
			t.Errorf("PeerRange(%s) = %q, %v; want %q", cidr, got, err, want)
		}
	}
}

// The rendered configuration carries every option the node depends on,
// each spelled as coturn 4.6.1 reads it, and no CIDR notation (which
// coturn would drop).
func TestTurnConfigHasEveryHardeningOption(t *testing.T) {
	conf, err := RenderTurnConfig(turnNodeForTest(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"listening-port=3478", "min-port=49152", "max-port=65535", "no-tcp-relay", "lt-cred-mech",
		"realm=ams-cluster-dev", "fingerprint", "user-quota=2000", "total-quota=2000", "no-multicast-peers",
		"no-cli", "no-tls", "no-dtls", "no-tlsv1", "no-tlsv1_1", "denied-peer-ip=169.254.0.0-169.254.255.255",
	} {
		if !strings.Contains("\n"+conf+"\n", "\n"+line+"\n") {
			t.Errorf("configuration lacks the line %q:\n%s", line, conf)
		}
	}
	if c := coturn.Parse(conf); len(c.Dropped) > 0 {
		t.Errorf("coturn would drop %q", c.Dropped)
	}
}

// Every bad field is reported at once, each by name.
func TestTurnServerArgsReportEveryBadField(t *testing.T) {
	err := (&TurnServerArgs{
		VpcCIDR: "10.0.0.1/16", ZoneCount: 3, Nodes: 2, EveryZone: true, InstanceType: "big",
		RelayPortMin: 3450, RelayPortMax: 3500, MaxAllocations: -1, Realm: "a b", User: "x:y",
	}).Validate()
	var fields []string
	for _, e := range leafErrs(err) {
		var a *ArgError
		if errors.As(e, &a) {
			fields = append(fields, a.Field)
		}
	}
	want := "VpcID VpcCIDR SubnetIDs Nodes InstanceType RelayPortMin RelayPortMax MaxAllocations Realm User"
	if strings.Join(fields, " ") != want {
		t.Errorf("rejected fields %v, want %s", fields, want)
	}
}

func leafErrs(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

package components

import (
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

func TestTurnDomainReportsEveryBadField(t *testing.T) {
	d := &TurnDomain{HostedZoneID: "zone", Name: "Turn.Example.com", TLSName: "Turn.Example.com",
		CertificateArn: pulumi.String("arn:aws:acm:eu-central-1:123456789012:certificate/x"), TLSPolicy: "ELBSecurityPolicy-2016-08"}
	var fields []string
	for _, e := range leafErrs((&TurnServerArgs{Domain: d}).Validate()) {
		var a *ArgError
		if errors.As(e, &a) && strings.HasPrefix(a.Field, "Domain.") {
			fields = append(fields, a.Field)
		}
	}
	if want := "Domain.HostedZoneID Domain.Name Domain.TLSName Domain.TLSPolicy"; strings.Join(fields, " ") != want {
		t.Errorf("rejected fields %v, want %s", fields, want)
	}
	// The same name twice: an A record of the nodes and an alias of the
	// load balancer cannot share it.
	d = &TurnDomain{HostedZoneID: "Z0123456789ABCDEFGHIJ", Name: "turn.example.com", TLSName: "turn.example.com", CertificateArn: pulumi.String("arn")}
	fields = nil
	for _, e := range leafErrs((&TurnServerArgs{Domain: d}).Validate()) {
		var a *ArgError
		if errors.As(e, &a) && strings.HasPrefix(a.Field, "Domain.") {
			fields = append(fields, a.Field)
		}
	}
	if strings.Join(fields, " ") != "Domain.TLSName" {
		t.Errorf("one name for both: rejected fields %v, want Domain.TLSName", fields)
	}
}

func TestTurnURIsNameTheNodesAndTheTLSLoadBalancer(t *testing.T) {
	ips := []string{"198.51.100.7", "198.51.100.8"}
	for _, tc := range []struct {
		name   string
		domain *TurnDomain
		want   string
	}{
		{"no domain", nil, "turn:198.51.100.7:3478?transport=udp turn:198.51.100.8:3478?transport=udp " +
			"turn:198.51.100.7:3478?transport=tcp turn:198.51.100.8:3478?transport=tcp"},
		{"domain without certificate", &TurnDomain{Name: "turn.example.com"},
			"turn:turn.example.com:3478?transport=udp turn:turn.example.com:3478?transport=tcp"},
		{"domain with certificate", &TurnDomain{Name: "turn.example.com", TLSName: "turns.example.com", CertificateArn: pulumi.String("arn")},
			"turn:turn.example.com:3478?transport=udp turn:turn.example.com:3478?transport=tcp turns:turns.example.com:443?transport=tcp"},
	} {
		if got := strings.Join(turnURIs(tc.domain, ips), " "); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

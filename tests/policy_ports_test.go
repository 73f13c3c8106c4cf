package tests

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/policy/rules"
)

// portsOf reads the policy's port settings from a stack configuration, as the
// pack does from the configuration the engine hands it.
func portsOf(t *testing.T, cfg map[string]string) rules.Ports {
	t.Helper()
	p, err := rules.PortsFromConfig(func(key string) (string, bool) {
		v, ok := cfg[project+":"+key]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// worldOpen lists the ingress rules of a run open to 0.0.0.0/0 as "proto from-to".
func worldOpen(r *run) []string {
	var out []string
	for _, rule := range r.ofType(polIngressRuleType) {
		if rule.str("cidrIpv4") == "0.0.0.0/0" {
			out = append(out, fmt.Sprintf("%s %s-%s", rule.str("ipProtocol"), rule.str("fromPort"), rule.str("toPort")))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestPolicyPublicPortsFollowTheConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name      string
		overrides map[string]string
		want      string // what the stack opens to the world
	}{
		{"defaults", nil, "tcp 1935-1935, tcp 5080-5080, tcp 80-80, udp 4200-4200, udp 50000-60000"},
		{"no ingest", map[string]string{"ingest": "false"}, "tcp 5080-5080, tcp 80-80, udp 50000-60000"},
		{"WebRTC on 40000-41000", map[string]string{"webrtcPortMin": "40000", "webrtcPortMax": "41000"},
			"tcp 1935-1935, tcp 5080-5080, tcp 80-80, udp 40000-41000, udp 4200-4200"},
		{"TURN relaying on 50000-50999", map[string]string{"turn": "true", "turnRelayPorts": "50000-50999"},
			"tcp 1935-1935, tcp 3478-3478, tcp 5080-5080, tcp 80-80, udp 3478-3478, udp 4200-4200, udp 50000-50999, udp 50000-60000"},
		{"TURN over TLS on the domain", map[string]string{"turn": "true", "turnRelayPorts": "50000-50999", "domainName": testDomain, "hostedZoneId": testZoneID},
			"tcp 1935-1935, tcp 3478-3478, tcp 443-443, tcp 5080-5080, tcp 5443-5443, tcp 80-80, udp 3478-3478, udp 4200-4200, udp 50000-50999, udp 50000-60000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := stackConfig(t, "Pulumi.dev.yaml", tc.overrides)
			r := runProgram(t, cfg)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if got := strings.Join(worldOpen(r), ", "); got != tc.want {
				t.Errorf("world-open ingress %s, want %s", got, tc.want)
			}
			ports := portsOf(t, cfg)
			noPublic := rules.AllFor(ports)[0]
			if noPublic.Name != rules.NoPublicIngress {
				t.Fatalf("first rule is %s", noPublic.Name)
			}
			for _, res := range r.ofType(polIngressRuleType) {
				if msgs := noPublic.Check(policyView(res)); len(msgs) > 0 {
					t.Errorf("the stack's own rule breaks the policy for its configuration: %v", msgs)
				}
			}
			// What the configuration does not open, the policy refuses.
			for _, probe := range []struct {
				proto    string
				from, to float64
				public   bool
			}{
				{"tcp", 1935, 1935, ports.Ingest},
				{"udp", 4200, 4200, ports.Ingest},
				{"udp", float64(ports.WebRTCPortMin), float64(ports.WebRTCPortMax), true},
				{"udp", 50000, 60000, ports.WebRTCPortMin <= 50000 && ports.WebRTCPortMax >= 60000},
				{"udp", float64(ports.WebRTCPortMax), float64(ports.WebRTCPortMax) + 1, false},
				{"udp", 3478, 3478, ports.Turn},
				{"tcp", 3478, 3478, ports.Turn},
				{"udp", 64000, 65535, ports.Turn && ports.TurnRelayPortMax == 65535},
			} {
				res := policyResource(polIngressRuleType, "probe", map[string]any{
					"cidrIpv4": "0.0.0.0/0", "ipProtocol": probe.proto, "fromPort": probe.from, "toPort": probe.to,
				}, false)
				if allowed := len(noPublic.Check(res)) == 0; allowed != probe.public {
					t.Errorf("%s %v-%v open to the world: policy allows %v, want %v", probe.proto, probe.from, probe.to, allowed, probe.public)
				}
			}
		})
	}
}

// TestPolicyDefaultPortsAreTheSchemaDefaults keeps the pack's defaults, for a
// stack that sets none of the keys, equal to Pulumi.yaml's.
func TestPolicyDefaultPortsAreTheSchemaDefaults(t *testing.T) {
	if got, want := portsOf(t, projectDefaults(t)), rules.DefaultPorts(); got != want {
		t.Errorf("schema defaults give %+v, the policy's defaults are %+v", got, want)
	}
	if got := portsOf(t, map[string]string{}); got != rules.DefaultPorts() {
		t.Errorf("no configuration gives %+v", got)
	}
}

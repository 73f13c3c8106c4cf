package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// PortRange is a protocol and an inclusive port range.
type PortRange struct {
	Protocol string // "tcp" or "udp"
	From, To int
	// Purpose says why the range may be open to the internet.
	Purpose string
}

func (p PortRange) String() string {
	if p.From == p.To {
		return fmt.Sprintf("%s %d", p.Protocol, p.From)
	}
	return fmt.Sprintf("%s %d-%d", p.Protocol, p.From, p.To)
}

// Ports are the stack settings the public port list follows: the
// configuration keys ingest, webrtcPortMin, webrtcPortMax, turn and
// turnRelayPorts.
type Ports struct {
	// Ingest opens RTMP (TCP 1935) and SRT (UDP 4200) on the ingest load balancer.
	Ingest bool
	// WebRTCPortMin and WebRTCPortMax bound the WebRTC media range on the nodes.
	WebRTCPortMin, WebRTCPortMax int
	// Turn opens TURN (UDP and TCP 3478) and the relay range on the TURN nodes.
	Turn bool
	// TurnRelayPortMin and TurnRelayPortMax bound the TURN relay range.
	TurnRelayPortMin, TurnRelayPortMax int
}

// DefaultPorts are the settings of a stack that sets none of the keys, as
// Pulumi.yaml declares them.
func DefaultPorts() Ports {
	return Ports{Ingest: true, WebRTCPortMin: 50000, WebRTCPortMax: 60000, TurnRelayPortMin: 49152, TurnRelayPortMax: 65535}
}

// PortsFromConfig reads the settings from a stack's configuration; get
// returns the value of a project key ("ingest") and whether it is set.
// Unset keys keep DefaultPorts.
func PortsFromConfig(get func(key string) (string, bool)) (Ports, error) {
	p := DefaultPorts()
	if v, ok := get("ingest"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return p, fmt.Errorf("ingest = %q: want true or false", v)
		}
		p.Ingest = b
	}
	for key, dst := range map[string]*int{"webrtcPortMin": &p.WebRTCPortMin, "webrtcPortMax": &p.WebRTCPortMax} {
		if v, ok := get(key); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 || n > 65535 {
				return p, fmt.Errorf("%s = %q: want a port from 1 to 65535", key, v)
			}
			*dst = n
		}
	}
	if v, ok := get("turn"); ok {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return p, fmt.Errorf("turn = %q: want true or false", v)
		}
		p.Turn = b
	}
	if v, ok := get("turnRelayPorts"); ok {
		lo, hi, found := strings.Cut(v, "-")
		min, errMin := strconv.Atoi(strings.TrimSpace(lo))
		max, errMax := strconv.Atoi(strings.TrimSpace(hi))
		if !found || errMin != nil || errMax != nil || min < 1 || max > 65535 || max < min {
			return p, fmt.Errorf("turnRelayPorts = %q: want a port range MIN-MAX", v)
		}
		p.TurnRelayPortMin, p.TurnRelayPortMax = min, max
	}
	if p.WebRTCPortMax < p.WebRTCPortMin {
		return p, fmt.Errorf("webrtcPortMax %d is below webrtcPortMin %d", p.WebRTCPortMax, p.WebRTCPortMin)
	}
	return p, nil
}

// PublicPortsFor are the only ranges ingress from the whole internet may
// open in a stack with settings p. A public rule must lie entirely inside
// one of them.
func PublicPortsFor(p Ports) []PortRange {
	out := []PortRange{
		{"tcp", 80, 80, "load balancer HTTP listener"},
		{"tcp", 443, 443, "load balancer HTTPS listener, and TURN over TLS with turn on a domain"},
		{"tcp", 5080, 5080, "load balancer HTTP play listener"},
		{"tcp", 5443, 5443, "load balancer HTTPS play listener"},
		{"udp", p.WebRTCPortMin, p.WebRTCPortMax, "WebRTC media"},
	}
	if p.Ingest {
		out = append(out,
			PortRange{"tcp", 1935, 1935, "RTMP ingest"},
			PortRange{"udp", 4200, 4200, "SRT ingest"})
	}
	if p.Turn {
		out = append(out,
			PortRange{"udp", 3478, 3478, "TURN and STUN"},
			PortRange{"tcp", 3478, 3478, "TURN and STUN over TCP"},
			PortRange{"udp", p.TurnRelayPortMin, p.TurnRelayPortMax, "TURN relayed media"})
	}
	return out
}

// PublicPorts are PublicPortsFor(DefaultPorts()).
func PublicPorts() []PortRange { return PublicPortsFor(DefaultPorts()) }

func publicPortList(ports []PortRange) string {
	var s []string
	for _, p := range ports {
		s = append(s, p.String())
	}
	return strings.Join(s, ", ")
}

func noPublicIngress(ports []PortRange) Rule {
	return newRule(NoPublicIngress,
		"Ingress open to 0.0.0.0/0 or ::/0 is allowed only on the documented public ports ("+publicPortList(ports)+").",
		map[string]check{
			typeSecurityGroupIngressRule: func(r Resource) []string {
				p := r.Properties
				return publicIngress(r, ports, permission{
					sources: []source{
						{"cidrIpv4", p.Get("cidrIpv4")},
						{"cidrIpv6", p.Get("cidrIpv6")},
					},
					protocolKey: "ipProtocol", protocol: p.Get("ipProtocol"),
					fromPort: p.Get("fromPort"), toPort: p.Get("toPort"),
				})
			},
			typeSecurityGroupRule: func(r Resource) []string {
				p := r.Properties
				if t, ok := str(p.Get("type")); !ok || t != "ingress" {
					return nil
				}
				return publicIngress(r, ports, permission{
					sources:     cidrList(p, ""),
					protocolKey: "protocol", protocol: p.Get("protocol"),
					fromPort: p.Get("fromPort"), toPort: p.Get("toPort"),
				})
			},
			typeSecurityGroup: func(r Resource) []string {
				var out []string
				for i, rule := range elements(r.Properties.Get("ingress")) {
					if !rule.IsMap() {
						continue
					}
					m := rule.AsMap()
					where := fmt.Sprintf("ingress[%d].", i)
					out = append(out, publicIngress(r, ports, permission{
						where:       where,
						sources:     cidrList(m, where),
						protocolKey: "protocol", protocol: m.Get("protocol"),
						fromPort: m.Get("fromPort"), toPort: m.Get("toPort"),
					})...)
				}
				return out
			},
		})
}

// source is one CIDR property of an ingress permission.
type source struct {
	path  string
	value property.Value
}

// permission is one ingress permission, whatever resource holds it.
type permission struct {
	where                      string // property path prefix, for inline rules
	sources                    []source
	protocolKey                string
	protocol, fromPort, toPort property.Value
}

// cidrList returns the cidrBlocks and ipv6CidrBlocks entries of m.
func cidrList(m property.Map, where string) []source {
	var out []source
	for _, key := range []string{"cidrBlocks", "ipv6CidrBlocks"} {
		for i, v := range elements(m.Get(key)) {
			out = append(out, source{fmt.Sprintf("%s%s[%d]", where, key, i), v})
		}
	}
	return out
}

// publicIngress reports p if it opens anything outside PublicPorts to the
// whole internet.
func publicIngress(r Resource, ports []PortRange, p permission) []string {
	var out []string
	for _, src := range p.sources {
		cidr, ok := str(src.value)
		if !ok || !isWholeInternet(cidr) {
			continue
		}
		if p.protocol.IsComputed() || p.fromPort.IsComputed() || p.toPort.IsComputed() {
			continue // known by `pulumi up`
		}
		traffic := fmt.Sprintf("%s%s %s, %sfromPort %s, %stoPort %s",
			p.where, p.protocolKey, show(p.protocol), p.where, show(p.fromPort), p.where, show(p.toPort))
		protocol, _ := str(p.protocol)
		protocol = normalizeProtocol(protocol)
		if protocol == "all" {
			out = append(out, r.violation("%s %s with %s opens all protocols and ports to the internet; only %s may be public",
				src.path, show(src.value), traffic, publicPortList(ports)))
			continue
		}
		from, okFrom := number(p.fromPort)
		to, okTo := number(p.toPort)
		if !okFrom || !okTo {
			from, to = 0, 65535 // no ports on a tcp or udp rule means all of them
		}
		if withinPublicPorts(ports, protocol, int(from), int(to)) {
			continue
		}
		out = append(out, r.violation("%s %s with %s opens %s to the internet; only %s may be public",
			src.path, show(src.value), traffic, PortRange{Protocol: protocol, From: int(from), To: int(to)}, publicPortList(ports)))
	}
	return out
}

// isWholeInternet reports whether cidr is 0.0.0.0/0, ::/0 or another
// spelling of a zero-length prefix.
func isWholeInternet(cidr string) bool {
	prefix, err := netip.ParsePrefix(strings.TrimSpace(cidr))
	return err == nil && prefix.Bits() == 0
}

// normalizeProtocol maps protocol numbers to names and "-1" to "all".
func normalizeProtocol(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	switch p {
	case "-1", "all":
		return "all"
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "icmpv6"
	}
	return p
}

func withinPublicPorts(ports []PortRange, protocol string, from, to int) bool {
	for _, p := range ports {
		if p.Protocol == protocol && from >= p.From && to <= p.To && from <= to {
			return true
		}
	}
	return false
}

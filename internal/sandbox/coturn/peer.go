// Package coturn models how coturn decides whether a TURN relay may send to
// a peer, from the lines of its configuration file, as coturn 4.6.1 (the
// coturn package of Ubuntu 24.04, which the TURN nodes install) does it.
// The model is at least as strict as coturn: a line coturn would skip is
// skipped here too, and an address coturn would let through is let through.
//
// Sources (github.com/coturn/coturn, tag 4.6.1):
//   - src/apps/relay/mainrelay.c, read_config_file and parse_arg_string: a
//     line is "name=value" (or name, blanks or '=', value); '#' starts a
//     comment line; trailing blanks are cut; an unknown name is logged as
//     "Bad configuration format" and skipped.
//   - src/apps/relay/mainrelay.c, set_option, DENIED_PEER_IPS and
//     ALLOWED_PEER_IPS: each line adds one range through add_ip_list_range.
//   - src/apps/relay/userdb.c, add_ip_list_range: a value is one address or
//     "MIN-MAX"; each side goes through make_ioa_addr (inet_pton for IPv4,
//     then IPv6, then a host name look-up); a side that is none of these
//     logs "Wrong address format" and the whole line is dropped. CIDR
//     notation ("10.0.0.0/8") is not an address: such a line denies nothing.
//   - src/client/ns_turn_ioaddr.c, ioa_addr_in_range and addr_less_eq: a
//     range holds addr when min is all-zero ("any") or min <= addr, and max
//     is all-zero or addr <= max. Addresses of different families compare
//     by family number (AF_INET 2 < AF_INET6 10); IPv4 addresses compare as
//     numbers; IPv6 addresses compare byte by byte, a <= b only when every
//     byte of a is at most the same byte of b.
//   - src/server/ns_turn_server.c, good_peer_addr: a multicast peer is
//     refused under no-multicast-peers, a loopback peer unless
//     allow-loopback-peers, the all-zero address always; then the allowed
//     ranges (allowed-peer-ip) admit, then the denied ranges refuse, and
//     anything else is admitted.
package coturn

import (
	"bufio"
	"net/netip"
	"strings"
)

// Range is one allowed-peer-ip or denied-peer-ip range as coturn keeps it.
type Range struct {
	// Text is the value as written.
	Text string
	// Min and Max bound the range (equal for a single address).
	Min, Max netip.Addr
}

// Config is what a configuration file says about peers.
type Config struct {
	// Denied and Allowed are the denied-peer-ip and allowed-peer-ip ranges.
	Denied, Allowed []Range
	// NoMulticastPeers and AllowLoopbackPeers are the flags of those names.
	NoMulticastPeers, AllowLoopbackPeers bool
	// Dropped are the range lines coturn logs as "Wrong address format" and
	// ignores.
	Dropped []string
}

// Parse reads a turnserver.conf the way read_config_file does, keeping what
// bears on peers.
func Parse(text string) Config {
	var c Config
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimLeft(sc.Text(), " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimRight(line, " \t\r\n")
		name, value := splitArg(line)
		switch name {
		case "denied-peer-ip", "allowed-peer-ip":
			r, ok := parseRange(value)
			switch {
			case !ok:
				c.Dropped = append(c.Dropped, line)
			case name == "denied-peer-ip":
				c.Denied = append(c.Denied, r)
			default:
				c.Allowed = append(c.Allowed, r)
			}
		case "no-multicast-peers":
			c.NoMulticastPeers = boolValue(value)
		case "allow-loopback-peers":
			c.AllowLoopbackPeers = boolValue(value)
		}
	}
	return c
}

// splitArg is parse_arg_string: the name ends at the first blank or '=',
// the value starts after the run of blanks and '='; a quoted value loses
// its quotes.
func splitArg(line string) (name, value string) {
	i := strings.IndexAny(line, " \t=")
	if i < 0 {
		return line, ""
	}
	name, value = line[:i], strings.TrimLeft(line[i:], " \t=")
	if strings.HasPrefix(value, `"`) {
		value = strings.TrimSuffix(strings.TrimRight(value[1:], " \t\r\n"), `"`)
	}
	return name, value
}

// boolValue is get_bool_value: an option given without a value is on.
func boolValue(v string) bool {
	switch strings.ToLower(v) {
	case "", "1", "yes", "true", "on":
		return true
	}
	return false
}

// parseRange is add_ip_list_range: one address, or MIN-MAX.
func parseRange(value string) (Range, bool) {
	lo, hi, isRange := strings.Cut(value, "-")
	min, ok := address(lo)
	if !ok {
		return Range{}, false
	}
	max := min
	if isRange {
		if max, ok = address(hi); !ok {
			return Range{}, false
		}
	}
	return Range{Text: value, Min: min, Max: max}, true
}

// address is make_ioa_addr on an address literal: blanks around it are
// cut, an empty string is 0.0.0.0. A host name would be looked up; the
// model has no resolver and refuses it, as a configuration of addresses
// should.
func address(s string) (netip.Addr, bool) {
	s = strings.Trim(s, " ")
	if s == "" {
		return netip.IPv4Unspecified(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// Holds is ioa_addr_in_range.
func (r Range) Holds(a netip.Addr) bool {
	return (r.Min.IsUnspecified() || lessEq(r.Min, a)) && (r.Max.IsUnspecified() || lessEq(a, r.Max))
}

// lessEq is addr_less_eq.
func lessEq(a, b netip.Addr) bool {
	fa, fb := family(a), family(b)
	if fa != fb {
		return fa < fb
	}
	if a.Is4() {
		return a.Compare(b) <= 0
	}
	x, y := a.As16(), b.As16()
	for i := range x {
		if x[i] > y[i] {
			return false
		}
	}
	return true
}

// family is the address family number of Linux: AF_INET 2, AF_INET6 10.
// An IPv4-mapped IPv6 address is an IPv6 address to coturn.
func family(a netip.Addr) int {
	if a.Is4() {
		return 2
	}
	return 10
}

// PeerAllowed is good_peer_addr: whether a relay may send to peer, and,
// when it may not, the range or rule that refuses it.
func (c Config) PeerAllowed(peer netip.Addr) (bool, string) {
	switch {
	case c.NoMulticastPeers && isMulticast(peer):
		return false, "no-multicast-peers"
	case !c.AllowLoopbackPeers && isLoopback(peer):
		return false, "loopback"
	case peer.IsUnspecified():
		return false, "zero address"
	}
	for i := len(c.Allowed) - 1; i >= 0; i-- {
		if c.Allowed[i].Holds(peer) {
			return true, ""
		}
	}
	for i := len(c.Denied) - 1; i >= 0; i-- {
		if c.Denied[i].Holds(peer) {
			return false, "denied-peer-ip=" + c.Denied[i].Text
		}
	}
	return true, ""
}

// isMulticast is ioa_addr_is_multicast: IPv4 above 223.x, IPv6 ff00::/8.
func isMulticast(a netip.Addr) bool {
	if a.Is4() {
		return a.As4()[0] > 223
	}
	return a.As16()[0] == 0xff
}

// isLoopback is ioa_addr_is_loopback: 127.x.x.x and ::1.
func isLoopback(a netip.Addr) bool {
	if a.Is4() {
		return a.As4()[0] == 127
	}
	return a == netip.IPv6Loopback()
}

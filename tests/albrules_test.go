package tests

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// albListener is one listener as an Application Load Balancer evaluates it:
// its rules in priority order, then its default action.
type albListener struct {
	port  string
	rules []albRule
	dflt  string
}

// albRule is a listener rule: all of its conditions must hold.
type albRule struct {
	name     string
	priority int
	// paths are the path-pattern values (one must match); nil means no
	// path condition.
	paths []string
	// queries are the query-string conditions; each is a list of key/value
	// pairs of which one must match.
	queries [][][2]string
	// sources are the source-IP networks (one must hold the client's
	// address); nil means no source-IP condition.
	sources []netip.Prefix
	action  string
}

// albAction renders a rule action as "403" (a fixed response),
// "forward <role>" or "redirect <port>".
func albAction(t *testing.T, r *run, prefix string, res *registered) string {
	t.Helper()
	switch typ := res.str(prefix + ".type"); typ {
	case "fixed-response":
		return res.str(prefix + ".fixedResponse.statusCode")
	case "forward":
		return "forward " + roleOfTargetGroup(t, r, res.str(prefix+".targetGroupArn"))
	case "redirect":
		return "redirect " + res.str(prefix+".redirect.port")
	default:
		t.Fatalf("%s %s: action type %q is not modelled", res.Type, res.Name, typ)
		return ""
	}
}

// albListeners reads every listener and its rules from a run.
func albListeners(t *testing.T, r *run) map[string]*albListener {
	t.Helper()
	out := map[string]*albListener{}
	byArn := map[string]*albListener{}
	alb := r.alb(t)
	for _, l := range r.ofType("aws:lb/listener:Listener") {
		if l.str("loadBalancerArn") != alb.ID {
			continue // the ingest NLB's listeners have no rules
		}
		al := &albListener{port: l.str("port"), dflt: albAction(t, r, "defaultActions.0", l)}
		out[al.port] = al
		byArn[l.ID] = al
	}
	for _, rule := range r.ofType("aws:lb/listenerRule:ListenerRule") {
		l := byArn[rule.str("listenerArn")]
		if l == nil {
			t.Fatalf("rule %s belongs to no listener the stack created", rule.Name)
		}
		ar := albRule{name: rule.Name, priority: int(rule.num("priority")), action: albAction(t, r, "actions.0", rule)}
		conditions := rule.input("conditions").ArrayValue()
		if n := len(rule.input("actions").ArrayValue()); n != 1 {
			t.Errorf("rule %s has %d actions; the model knows one", rule.Name, n)
		}
		for i := range conditions {
			c := fmt.Sprintf("conditions.%d.", i)
			switch {
			case rule.input(c + "pathPattern").IsObject():
				if ar.paths != nil {
					t.Errorf("rule %s has two path-pattern conditions; ALB allows one", rule.Name)
				}
				for _, v := range rule.input(c + "pathPattern.values").ArrayValue() {
					ar.paths = append(ar.paths, unsecret(v).StringValue())
				}
			case rule.input(c + "queryStrings").IsArray():
				var pairs [][2]string
				for j := range rule.input(c + "queryStrings").ArrayValue() {
					q := fmt.Sprintf("%squeryStrings.%d.", c, j)
					pairs = append(pairs, [2]string{rule.str(q + "key"), rule.str(q + "value")})
				}
				ar.queries = append(ar.queries, pairs)
			case rule.input(c + "sourceIp").IsObject():
				if ar.sources != nil {
					t.Errorf("rule %s has two source-IP conditions; ALB allows one", rule.Name)
				}
				for _, v := range rule.input(c + "sourceIp.values").ArrayValue() {
					p, err := netip.ParsePrefix(unsecret(v).StringValue())
					if err != nil {
						t.Fatalf("rule %s: source IP %v: %v", rule.Name, v, err)
					}
					ar.sources = append(ar.sources, p)
				}
			default:
				t.Errorf("rule %s: condition %d is of a type the model does not know: %v", rule.Name, i, rule.input(c))
			}
		}
		// ALB: at most five match evaluations per rule.
		evaluations := len(ar.paths) + len(ar.sources)
		for _, q := range ar.queries {
			evaluations += len(q)
		}
		if evaluations > 5 {
			t.Errorf("rule %s has %d match evaluations; ALB accepts 5 per rule", rule.Name, evaluations)
		}
		// ALB: at most five wildcards (* and ?) per rule.
		wildcards := 0
		for _, p := range ar.paths {
			wildcards += strings.Count(p, "*") + strings.Count(p, "?")
		}
		if wildcards > 5 {
			t.Errorf("rule %s has %d wildcards %q; ALB accepts 5 per rule", rule.Name, wildcards, ar.paths)
		}
		for _, p := range ar.paths {
			if len(p) > 128 || !albPathCharset.MatchString(p) {
				t.Errorf("rule %s: path pattern %q is not one ALB accepts (128 characters of A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & * ?)", rule.Name, p)
			}
		}
		l.rules = append(l.rules, ar)
	}
	if n := len(r.ofType("aws:lb/listenerRule:ListenerRule")); n > 100 {
		t.Errorf("%d listener rules; an Application Load Balancer takes 100", n)
	}
	for _, l := range out {
		sort.Slice(l.rules, func(i, j int) bool { return l.rules[i].priority < l.rules[j].priority })
		for i := 1; i < len(l.rules); i++ {
			if l.rules[i].priority == l.rules[i-1].priority {
				t.Errorf("listener %s: rules %s and %s share priority %d", l.port, l.rules[i-1].name, l.rules[i].name, l.rules[i].priority)
			}
		}
	}
	return out
}

// albPathCharset is what the ALB accepts in a path pattern (Elastic Load
// Balancing, "Path conditions"): no "%", so no percent-encoded literal.
var albPathCharset = regexp.MustCompile(`^[A-Za-z0-9_\-.$/~"'@:+&*?]+$`)

// albGlob matches s against an ALB pattern: * is any run of characters
// (slashes included), ? exactly one; anything else literally, case-sensitive
// when caseSensitive.
func albGlob(pattern, s string, caseSensitive bool) bool {
	var re strings.Builder
	re.WriteString("^")
	if !caseSensitive {
		re.WriteString("(?i)")
	}
	for _, c := range pattern {
		switch c {
		case '*':
			re.WriteString("(?s:.*)")
		case '?':
			re.WriteString("(?s:.)")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(s)
}

// answer is what the listener does with a request for rawPath?rawQuery, as
// sent on the wire: ALB compares path patterns with the path only, as sent
// (no percent-decoding), case-sensitively; query-string conditions with the
// query's key/value pairs, case-insensitively; the first rule in priority
// order whose conditions all hold wins, else the default action.
func (l *albListener) answer(rawPath, rawQuery string) string {
	return l.answerFrom(netip.MustParseAddr("203.0.113.250"), rawPath, rawQuery)
}

// answerFrom is answer for a client at address from: a source-IP condition
// holds when one of its networks contains the address.
func (l *albListener) answerFrom(from netip.Addr, rawPath, rawQuery string) string {
	var pairs [][2]string
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		pairs = append(pairs, [2]string{k, v})
	}
	for _, rule := range l.rules {
		ok := true
		if rule.paths != nil {
			matched := false
			for _, p := range rule.paths {
				matched = matched || albGlob(p, rawPath, true)
			}
			ok = matched
		}
		if rule.sources != nil {
			matched := false
			for _, p := range rule.sources {
				matched = matched || p.Contains(from)
			}
			ok = ok && matched
		}
		for _, cond := range rule.queries {
			matched := false
			for _, want := range cond {
				for _, got := range pairs {
					keyOK := want[0] == "" || albGlob(want[0], got[0], false)
					matched = matched || keyOK && albGlob(want[1], got[1], false)
				}
			}
			ok = ok && matched
		}
		if ok {
			return rule.action
		}
	}
	return l.dflt
}

// initialUserVariants are requests for POST /rest/v2/users/initial that an
// outsider might send to get past a literal match; Ant Media's servlet
// container normalizes each to the endpoint.
var initialUserVariants = []string{
	"/rest/v2/users/initial",
	"/rest/v2/users/initial/",
	"//rest/v2/users/initial",
	"/rest//v2//users//initial",
	"/rest/v2/users/initial;jsessionid=0123",
	"/WebRTCAppEE/../rest/v2/users/initial",
	"/rest/v2/users/%69nitial",
	"/rest/v2/users/initia%6C",
	"/rest/v2/users/initia%6c/",
	"/rest/v2/users/in%69tial",
	"/rest/v2/users/ini%74ial",
	"/rest/v2/u%73ers/initial",
	"/rest/v2/users%2Finitial",
	"/rest/v2/users%2finitial",
	"/rest%2Fv2%2Fusers%2Finitial",
	"/%72est/v2/users/initial/",
}

func TestLoadBalancerRefusesTheInitialUserEndpoint(t *testing.T) {
	for _, plain := range []string{"false", "true"} {
		t.Run("plainHttp="+plain, func(t *testing.T) {
			r := deploy(t, map[string]string{"certificateArn": testCertificate, "plainHttp": plain})
			listeners := albListeners(t, r)
			if len(listeners) != 4 {
				t.Fatalf("%d listeners, want 80, 443, 5080 and 5443", len(listeners))
			}
			for _, port := range keys(listeners) {
				l := listeners[port]
				if len(l.rules) == 0 || l.rules[0].action != "403" {
					t.Errorf("listener %s: the highest-priority rule must answer 403, rules are %+v", port, l.rules)
				}
				for _, path := range initialUserVariants {
					for _, query := range []string{"", "target=edge", "target=origin"} {
						if got := l.answer(path, query); got != "403" {
							t.Errorf("listener %s: %s?%s -> %s, want 403", port, path, query, got)
						}
					}
				}
				// The applications' paths take the listener's role, or the
				// redirect to HTTPS.
				want := "forward " + map[string]string{"80": "origin", "443": "origin", "5080": "edge", "5443": "edge"}[port]
				if l.dflt == "redirect 443" || l.dflt == "redirect 5443" {
					if plain == "false" {
						want = l.dflt
					}
				}
				for _, path := range []string{"/WebRTCAppEE/", "/WebRTCAppEE/play.html", "/WebRTCAppEE/websocket", "/LiveApp/streams/s1.m3u8"} {
					if got := l.answer(path, ""); got != want {
						t.Errorf("listener %s: %s -> %s, want %s", port, path, got, want)
					}
				}
			}
		})
	}
}

// TestQueryStringPicksTheGroupOnThePublishListeners: as in Ant Media's own
// template, ?target=edge and ?target=origin pick the group on 80 and 443;
// the play listeners ignore them.
func TestQueryStringPicksTheGroupOnThePublishListeners(t *testing.T) {
	// With plain HTTP kept, 80 forwards as 443 does (otherwise it redirects).
	r := deploy(t, map[string]string{"certificateArn": testCertificate, "plainHttp": "true"})
	listeners := albListeners(t, r)
	for port, want := range map[string]map[string]string{
		"80":   {"": "forward origin", "target=edge": "forward edge", "target=origin": "forward origin", "target=EDGE": "forward edge", "a=1&target=edge": "forward edge"},
		"443":  {"": "forward origin", "target=edge": "forward edge", "target=origin": "forward origin", "target=other": "forward origin"},
		"5080": {"": "forward edge", "target=origin": "forward edge"},
		"5443": {"": "forward edge", "target=origin": "forward edge"},
	} {
		l := listeners[port]
		if l == nil {
			t.Fatalf("no listener on %s", port)
		}
		for query, action := range want {
			for _, path := range []string{"/WebRTCAppEE/", "/WebRTCAppEE/play.html", "/LiveApp/rest/v2/broadcasts/stream1"} {
				if got := l.answer(path, query); got != action {
					t.Errorf("listener %s: %s?%s -> %s, want %s", port, path, query, got, action)
				}
			}
		}
	}
}

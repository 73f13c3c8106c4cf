package tests

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/streamtoken"
)

// TestPublishTokenOutputs checks the token outputs against the stack's
// hosts: publishTokenCommand runs cmd/token for this stack, its region and
// hosts, and publishTokenUrls are the URLs that command prints, TOKEN
// standing for the token.
func TestPublishTokenOutputs(t *testing.T) {
	for _, tc := range []struct {
		name        string
		overrides   map[string]string
		web, play   string
		ingest      bool
		ingestByDNS bool
	}{
		{name: "no domain", web: "http://ALB", play: "http://ALB:5080", ingest: true, ingestByDNS: true},
		{name: "domain", overrides: map[string]string{"domainName": testDomain, "hostedZoneId": testZoneID},
			web: "https://" + testDomain, play: "https://" + testDomain + ":5443", ingest: true},
		{name: "no ingest", overrides: map[string]string{"ingest": "false"}, web: "http://ALB", play: "http://ALB:5080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := deploy(t, tc.overrides)
			alb := stateString(r.alb(t), "dnsName")
			web, play := strings.ReplaceAll(tc.web, "ALB", alb), strings.ReplaceAll(tc.play, "ALB", alb)
			want := "go run ./cmd/token -stack dev -region " + region + " -stream stream1 -ttl 12h -web " + web + " -play " + play
			hosts := streamtoken.Hosts{Web: web, Play: play}
			if tc.ingest {
				hosts.Ingest = "ingest." + testDomain
				if tc.ingestByDNS {
					hosts.Ingest = stateString(r.nlb(t), "dnsName")
				}
				want += " -ingest " + hosts.Ingest
			}
			if got := r.outputString(t, "publishTokenCommand"); got != want {
				t.Errorf("publishTokenCommand = %q, want %q", got, want)
			}
			report := streamtoken.Describe("TOKEN", "WebRTCAppEE", "stream1", streamtoken.TypePublish, time.Now(), time.Hour, hosts)
			urls := strings.Fields(r.outputString(t, "publishTokenUrls"))
			if n := map[bool]int{true: 3, false: 1}[tc.ingest]; len(urls) != n {
				t.Fatalf("publishTokenUrls %q: want %d URLs", urls, n)
			}
			for _, u := range urls {
				if !strings.Contains(report, "  "+u+"\n") {
					t.Errorf("publishTokenUrls has %q, which cmd/token does not print:\n%s", u, report)
				}
			}
		})
	}
}

// TestTokenOutputsFollowTheAuthKeys checks which token outputs each
// publishAuth/playAuth pair gives: none without a token to mint.
func TestTokenOutputsFollowTheAuthKeys(t *testing.T) {
	for _, tc := range []struct {
		publish, play string
		want          []string
	}{
		{"jwt", "none", []string{"publishTokenCommand", "publishTokenUrls"}},
		{"jwt", "jwt", []string{"playTokenCommand", "publishTokenCommand", "publishTokenUrls"}},
		{"none", "jwt", []string{"playTokenCommand"}},
		{"none", "none", nil},
	} {
		r := deploy(t, map[string]string{"publishAuth": tc.publish, "playAuth": tc.play})
		var got []string
		for _, name := range []string{"playTokenCommand", "publishTokenCommand", "publishTokenUrls"} {
			if _, ok := r.outputs[name]; ok {
				got = append(got, name)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("publishAuth %s, playAuth %s: outputs %v, want %v", tc.publish, tc.play, got, tc.want)
		}
		if tc.play == "jwt" && !strings.HasSuffix(r.outputString(t, "playTokenCommand"), " -type play") {
			t.Errorf("playTokenCommand %q mints no play token", r.outputString(t, "playTokenCommand"))
		}
	}
}

// TestTokenCommandFindsTheStacksKey checks that cmd/token's default
// parameter is the one the stack keeps the key in.
func TestTokenCommandFindsTheStacksKey(t *testing.T) {
	if got, want := streamtoken.SecretParameterName("prod"), components.JWTSecretParameterName("ams-cluster", "prod"); got != want {
		t.Errorf("cmd/token reads %s, the stack writes %s", got, want)
	}
	r := deploy(t, nil)
	var names []string
	for _, p := range r.ofType("aws:ssm/parameter:Parameter") {
		names = append(names, p.str("name"))
	}
	if !slices.Contains(names, streamtoken.SecretParameterName("dev")) {
		t.Errorf("no parameter %s among %v", streamtoken.SecretParameterName("dev"), names)
	}
}

package tests

import (
	"strings"
	"testing"
	"time"

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

package tests

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// panelPaths are requests for the web panel (Ant Media's root context) and
// the server REST API, as sent and in the spellings Ant Media's servlet
// container normalizes to them (doubled slashes, path parameters, dot-dot
// segments behind an application, percent-encoded dots and letters).
var panelPaths = []string{
	"/", "/index.html", "/main.3f2a.js", "/assets/i18n/en.json", "/favicon.ico",
	"/rest/v2/version", "/rest/v2/applications", "/rest/v2/users/authenticate", "/rest/v2/first-login-status",
	"/rest/v2/applications/WebRTCAppEE", "/rest/v2/cluster/nodes", "/rest",
	"//rest/v2/applications", "/rest;x=1/v2/applications", "/%72est/v2/applications", "/rest%2Fv2/applications",
	"/WebRTCAppEE/../rest/v2/applications", "/WebRTCAppEE/..;/rest/v2/applications",
	"/WebRTCAppEE/%2e%2e/rest/v2/applications", "/LiveApp/%2E%2e/rest/v2/applications",
	"/WebRTCAppEE/.%2E/rest/v2/applications", "/WebRTCAppEE/%2e./rest/v2/applications",
	"/WebRTCAppEE/streams/../../rest/v2/applications", "/WebRTCAppEE", "/webrtcappee/../rest/v2/applications",
}

// applicationPaths are what publishers and players request.
var applicationPaths = []string{
	"/WebRTCAppEE/", "/WebRTCAppEE/websocket", "/WebRTCAppEE/play.html", "/WebRTCAppEE/js/webrtc_adaptor.js",
	"/LiveApp/streams/stream1.m3u8", "/LiveApp/streams/stream1000000001.ts", "/LiveApp/rest/v2/broadcasts/stream1",
}

// TestPanelAnswersOnlyAdminNetworks: from outside adminCidrs the panel and
// the server REST API are refused on every listener, whatever the path's
// spelling or the query; the applications' paths are forwarded to
// everybody; from inside adminCidrs the panel is forwarded, but never on a
// plain-HTTP listener beside a certificate. With adminCidrs empty nobody
// reaches the panel through the load balancer.
func TestPanelAnswersOnlyAdminNetworks(t *testing.T) {
	outsider := netip.MustParseAddr("203.0.113.9")
	admin := netip.MustParseAddr("198.51.100.7")
	for _, tc := range []struct {
		name   string
		config map[string]string
	}{
		{"HTTP only", map[string]string{}},
		{"certificate, redirects", map[string]string{"certificateArn": testCertificate}},
		{"certificate, plainHttp", map[string]string{"certificateArn": testCertificate, "plainHttp": "true"}},
	} {
		// The most networks adminCidrs takes: four rules of five per listener.
		most := `["198.51.100.0/24"`
		for i := 1; i < 20; i++ {
			most += fmt.Sprintf(`, "192.0.2.%d/32"`, i)
		}
		most += "]"
		for _, admins := range []string{"", `["198.51.100.0/24", "192.0.2.1/32"]`, most} {
			t.Run(fmt.Sprintf("%s, %d admin networks", tc.name, strings.Count(admins, "/")), func(t *testing.T) {
				config := map[string]string{"adminCidrs": admins}
				for k, v := range tc.config {
					config[k] = v
				}
				if admins == "" {
					delete(config, "adminCidrs")
				}
				listeners := albListeners(t, deploy(t, config))
				_, https := tc.config["certificateArn"]
				for _, port := range keys(listeners) {
					l := listeners[port]
					role := map[string]string{"80": "origin", "443": "origin", "5080": "edge", "5443": "edge"}[port]
					plainBesideTLS := https && (port == "80" || port == "5080")
					for _, path := range panelPaths {
						for _, query := range []string{"", "target=edge", "target=origin"} {
							if got := l.answerFrom(outsider, path, query); strings.HasPrefix(got, "forward") {
								t.Errorf("listener %s: %s?%s from outside adminCidrs -> %s, want refused", port, path, query, got)
							}
						}
					}
					for _, path := range []string{"/", "/index.html", "/rest/v2/applications", "/rest/v2/version"} {
						got := l.answerFrom(admin, path, "")
						switch {
						case admins == "" || plainBesideTLS:
							if strings.HasPrefix(got, "forward") {
								t.Errorf("listener %s: %s from %s -> %s, want refused (adminCidrs %q)", port, path, admin, got, admins)
							}
						case got != "forward "+role:
							t.Errorf("listener %s: %s from adminCidrs -> %s, want forward %s", port, path, got, role)
						}
					}
					for _, path := range applicationPaths {
						want := "forward " + role
						if plainBesideTLS && tc.config["plainHttp"] != "true" {
							want = "redirect " + map[string]string{"80": "443", "5080": "5443"}[port]
						}
						for _, from := range []netip.Addr{outsider, admin} {
							if got := l.answerFrom(from, path, ""); got != want {
								t.Errorf("listener %s: %s from %s -> %s, want %s", port, path, from, got, want)
							}
						}
					}
				}
			})
		}
	}
}

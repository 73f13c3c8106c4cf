package antmedia_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
)

// setStreamSecurity writes the application's stream security settings
// where the server reads them, and restarts it.
func setStreamSecurity(t *testing.T, n *sandbox.Node, app string, publish, play bool, secret string) {
	t.Helper()
	path := n.Path("/usr/local/antmedia/webapps/" + app + "/WEB-INF/red5-web.properties")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	props := string(b) + "publishJwtControlEnabled=" + boolText(publish) + "\nplayJwtControlEnabled=" + boolText(play) +
		"\njwtStreamSecretKey=" + secret + "\n"
	if err := os.WriteFile(path, []byte(props), 0o644); err != nil {
		t.Fatal(err)
	}
	amsRestart(t, n)
}

// jwtNode is a running AMS node whose WebRTCAppEE has the given JWT
// controls on, signed with testSecret.
func jwtNode(t *testing.T, id, ip string, publish, play bool) *sandbox.Node {
	t.Helper()
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := amsTestNode(t, w, id, ip)
	amsReady(t, n)
	setStreamSecurity(t, n, "WebRTCAppEE", publish, play, testSecret)
	return n
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func streamToken(t *testing.T, n *sandbox.Node, stream, typ string, ttl time.Duration) string {
	t.Helper()
	exp := n.AMS().WallClock().Add(ttl).Unix()
	return signJWT(t, hs256(), map[string]any{"streamId": stream, "type": typ, "exp": exp}, testSecret)
}

// TestPublishNeedsTokenWhenJWTControlIsOn publishes over each protocol,
// as its clients place the token, against WebRTCAppEE with
// publishJwtControlEnabled: without a token, with another stream's, with
// a play token and with an expired one the server refuses; with a valid
// publish token it accepts. LiveApp, left at its factory settings, takes
// anything.
func TestPublishNeedsTokenWhenJWTControlIsOn(t *testing.T) {
	n := jwtNode(t, "i-0p1", "10.0.1.21", true, false)
	ams := n.AMS()

	good := streamToken(t, n, "stream1", antmedia.TokenPublish, time.Hour)
	expired := streamToken(t, n, "stream1", antmedia.TokenPublish, -time.Second)
	other := streamToken(t, n, "stream2", antmedia.TokenPublish, time.Hour)
	play := streamToken(t, n, "stream1", antmedia.TokenPlay, time.Hour)
	for _, p := range []antmedia.Protocol{antmedia.RTMP, antmedia.SRT, antmedia.WebRTC} {
		for _, tc := range []struct {
			name, token string
			ok          bool
		}{
			{"no token", "", false},
			{"valid token", good, true},
			{"expired token", expired, false},
			{"another stream's token", other, false},
			{"play token", play, false},
		} {
			err := ams.Publish("WebRTCAppEE", "stream1", p, tc.token)
			if tc.ok && err != nil {
				t.Errorf("%s publish with %s: got %v, want accepted", p, tc.name, err)
			}
			if !tc.ok && !errors.Is(err, antmedia.ErrNotAllowed) {
				t.Errorf("%s publish with %s: got %v, want refused as not allowed", p, tc.name, err)
			}
		}
	}
	if err := ams.Publish("LiveApp", "stream1", antmedia.RTMP, ""); err != nil {
		t.Errorf("RTMP publish to LiveApp (factory settings) without a token: got %v, want accepted", err)
	}
	if !strings.Contains(ams.ServerLog(), "You are not allowed to publish the stream stream1") {
		t.Errorf("server log lacks StreamService's refusal:\n%s", ams.ServerLog())
	}
	// Play control is off: a player needs no token.
	if err := ams.Play("WebRTCAppEE", "stream1", antmedia.HLS, ""); err != nil {
		t.Errorf("HLS play without a token, play control off: got %v, want accepted", err)
	}
}

// TestPublishURLForms publishes with the URLs users paste into their
// tools: ffmpeg's rtmp:// URL with the token as a query or as a path
// segment, OBS's server and stream key, SRT's streamid and the WebRTC
// publish page's id and token.
func TestPublishURLForms(t *testing.T) {
	n := jwtNode(t, "i-0p2", "10.0.1.22", true, true)
	ams := n.AMS()
	tok := streamToken(t, n, "stream1", antmedia.TokenPublish, time.Hour)
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"rtmp://ingest.example.com/WebRTCAppEE/stream1?token=" + tok, true},
		{"rtmp://ingest.example.com/WebRTCAppEE/stream1/" + tok, true},
		{"rtmp://ingest.example.com/WebRTCAppEE/stream1", false},
		{"rtmp://ingest.example.com/WebRTCAppEE/stream1?token=", false},
		{"srt://ingest.example.com:4200?streamid=WebRTCAppEE/stream1,token=" + tok, true},
		{"srt://ingest.example.com:4200?streamid=WebRTCAppEE/stream1", false},
		{"srt://ingest.example.com:4200", true}, // to LiveApp, which has no JWT control here
		{"https://live.example.com/WebRTCAppEE/?id=stream1&token=" + tok, true},
		{"https://live.example.com/WebRTCAppEE/?id=stream1", false},
	} {
		err := ams.PublishURL(tc.url)
		if tc.ok != (err == nil) {
			t.Errorf("publish %s: got %v, want accepted=%v", tc.url, err, tc.ok)
		}
	}
	if err := ams.PublishRTMP("WebRTCAppEE", "stream1?token="+tok); err != nil {
		t.Errorf("OBS stream key with the token: got %v, want accepted", err)
	}
	// Play control on: a play token plays, a publish token does not.
	if err := ams.Play("WebRTCAppEE", "stream1", antmedia.WebRTC, streamToken(t, n, "stream1", antmedia.TokenPlay, time.Hour)); err != nil {
		t.Errorf("WebRTC play with a play token: got %v, want accepted", err)
	}
	if err := ams.Play("WebRTCAppEE", "stream1", antmedia.HLS, tok); !errors.Is(err, antmedia.ErrNotAllowed) {
		t.Errorf("HLS play with a publish token: got %v, want refused", err)
	}
}

// TestPublishTokenExpiresOnTheNodesClock lets a token valid for a minute
// run out on the node's clock.
func TestPublishTokenExpiresOnTheNodesClock(t *testing.T) {
	n := jwtNode(t, "i-0p3", "10.0.1.23", true, false)
	tok := streamToken(t, n, "stream1", antmedia.TokenPublish, time.Minute)
	if err := n.AMS().Publish("WebRTCAppEE", "stream1", antmedia.RTMP, tok); err != nil {
		t.Fatalf("publish within the minute: %v", err)
	}
	if err := n.Env().Advance(60); err != nil {
		t.Fatal(err)
	}
	if err := n.AMS().Publish("WebRTCAppEE", "stream1", antmedia.RTMP, tok); !errors.Is(err, antmedia.ErrNotAllowed) {
		t.Errorf("publish a minute later: got %v, want refused (expired)", err)
	}
}

// TestFFmpegRTMPSplit checks the split of rtmp_open (libavformat/rtmpproto.c).
func TestFFmpegRTMPSplit(t *testing.T) {
	for _, tc := range []struct{ path, app, name string }{
		{"/WebRTCAppEE/stream1?token=abc", "WebRTCAppEE", "stream1?token=abc"},
		{"/WebRTCAppEE/stream1/abc", "WebRTCAppEE/stream1", "abc"},
		{"/WebRTCAppEE/stream1/abc/sub/code", "WebRTCAppEE/stream1", "abc/sub/code"},
		{"/WebRTCAppEE", "WebRTCAppEE", ""},
	} {
		app, name := antmedia.FFmpegRTMPSplit(tc.path)
		if app != tc.app || name != tc.name {
			t.Errorf("split %s: got app %q name %q, want %q %q", tc.path, app, name, tc.app, tc.name)
		}
	}
}

package antmedia_test

import (
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
)

// TestTokenFilterStreamID checks the port of TokenFilterManager.getStreamId
// against the cases of Ant-Media-Server's own
// src/test/java/io/antmedia/test/token/TokenFilterTest.java
// (testGetStreamId, tag ams-v3.0.3), with streamId "stream_Id".
func TestTokenFilterStreamID(t *testing.T) {
	for uri, want := range map[string]string{
		"/liveapp/streams/test_stream_Id_davut_diyen_kedi_adaptive.m3u8":                    "test_stream_Id_davut_diyen_kedi",
		"/liveapp/streams/subfolder/stream_Id_adaptive.m3u8":                                "stream_Id",
		"/liveapp/streams/stream_Id_underline_test.m3u8":                                    "stream_Id_underline_test",
		"/liveapp/streams/stream_Id_underline_test_240p.m3u8":                               "stream_Id_underline_test",
		"/liveapp/streams/subfolder/stream_Id_underline_test_480p300kbps.m3u8":              "stream_Id_underline_test",
		"/liveapp/chunked/stream_Id/media_1.m3u8":                                           "stream_Id",
		"/liveapp/chunked/stream_Id/master.m3u8":                                            "stream_Id",
		"/liveapp/streams/stream_Id.m3u8":                                                   "stream_Id",
		"/liveapp/streams/stream_Id_500kbps.m3u8":                                           "stream_Id",
		"/liveapp/streams/stream_Id_480p300kbps_1.mp4":                                      "stream_Id",
		"/liveapp/streams/subfolder/stream_Id_1.mp4":                                        "stream_Id",
		"/liveapp/streams/stream_Id.mp4":                                                    "stream_Id",
		"/liveapp/streams/stream_Id_underline_test-2021-05-18_11-26-26.842.mp4":             "stream_Id_underline_test",
		"/liveapp/streams/stream_Id_underline_test-2021-05-18_11-26-26.842_240p500kbps.mp4": "stream_Id_underline_test",
		"/liveapp/streams/stream_Id_240p300kbps.m3u8":                                       "stream_Id",
		"/liveapp/streams/stream_Id0000.ts":                                                 "stream_Id",
		"/liveapp/streams/monstercat060218000.ts":                                           "monstercat",
		"/liveapp/streams/subfolder/stream_Id_240p300kbps0000.ts":                           "stream_Id",
		"/liveapp/streams/stream_Id.u8":                                                     "",
		"/live_app/streams/test_test_stream_Id/test_test_stream_Id_1segment00139.m4s":       "test_test_stream_Id",
		"/live_app/chunked/test_test_stream_Id/media_1.m3u8":                                "test_test_stream_Id",
		"/live_app/streams/test_test_stream_Id_adaptive.m3u8":                               "test_test_stream_Id",
		// ConsoleAppRestServiceTest.testJWTStreamControl's segment.
		"/LiveApp/streams/stream1000000005.ts": "stream1",
	} {
		got, ok := antmedia.TokenFilterStreamID(uri)
		if !ok || got != want {
			t.Errorf("getStreamId(%s): got %q (ok %v), want %q", uri, got, ok, want)
		}
	}
}

// TestPlayNeedsTokenWhenPlayControlIsOn plays WebRTCAppEE with
// playJwtControlEnabled in every form a viewer uses (the player page,
// the HLS playlist, an HLS segment, an MP4 recording): without a token,
// with an expired one, with a publish token and with another stream's the
// server refuses; with a play token it accepts. RTMP play stays refused
// (rtmpPlaybackEnabled off), so do other methods than GET and a file
// without a stream id.
func TestPlayNeedsTokenWhenPlayControlIsOn(t *testing.T) {
	n := jwtNode(t, "i-0q1", "10.0.1.31", false, true)
	ams := n.AMS()
	good := streamToken(t, n, "stream1", antmedia.TokenPlay, time.Hour)
	forms := func(tok string) []string {
		return []string{
			"https://live.example.com:5443/WebRTCAppEE/play.html?id=stream1&token=" + tok,
			"https://live.example.com:5443/WebRTCAppEE/streams/stream1.m3u8?token=" + tok,
			"https://live.example.com:5443/WebRTCAppEE/streams/stream1_720p2500kbps000000005.ts?token=" + tok,
			"https://live.example.com:5443/WebRTCAppEE/streams/stream1.mp4?token=" + tok,
		}
	}
	for what, tok := range map[string]string{
		"no token":               "",
		"an expired token":       streamToken(t, n, "stream1", antmedia.TokenPlay, -time.Second),
		"a publish token":        streamToken(t, n, "stream1", antmedia.TokenPublish, time.Hour),
		"another stream's token": streamToken(t, n, "stream2", antmedia.TokenPlay, time.Hour),
	} {
		for _, u := range forms(tok) {
			if err := ams.PlayURL(u); !errors.Is(err, antmedia.ErrNotAllowed) {
				t.Errorf("play %s with %s: got %v, want refused", u, what, err)
			}
		}
	}
	for _, u := range forms(good) {
		if err := ams.PlayURL(u); err != nil {
			t.Errorf("play %s with a play token: got %v, want accepted", u, err)
		}
	}
	for name, err := range map[string]error{
		"RTMP play with a play token":         ams.PlayURL("rtmp://live.example.com/WebRTCAppEE/stream1?token=" + good),
		"POST of the playlist":                ams.PlayRequest(http.MethodPost, "WebRTCAppEE", "stream1.m3u8", good),
		"a file without a stream id":          ams.PlayRequest(http.MethodGet, "WebRTCAppEE", "stream1.u8", good),
		"stream2's playlist, stream1's token": ams.PlayRequest(http.MethodGet, "WebRTCAppEE", "stream2.m3u8", good),
	} {
		if !errors.Is(err, antmedia.ErrNotAllowed) {
			t.Errorf("%s: got %v, want refused", name, err)
		}
	}
	if err := ams.PlayRequest(http.MethodHead, "WebRTCAppEE", "stream1.m3u8", good); err != nil {
		t.Errorf("HEAD of the playlist with a play token: got %v, want accepted", err)
	}
}

// TestPlayWithoutControlTakesAnyone is the negative variant: with play
// control off (the factory setting) the same viewers without a token are
// let through, so the refusals above come from the setting.
func TestPlayWithoutControlTakesAnyone(t *testing.T) {
	n := jwtNode(t, "i-0q2", "10.0.1.32", true, false)
	ams := n.AMS()
	for _, u := range []string{
		"https://live.example.com:5443/WebRTCAppEE/play.html?id=stream1",
		"https://live.example.com:5443/WebRTCAppEE/streams/stream1.m3u8",
		"https://live.example.com:5443/WebRTCAppEE/streams/stream1000000005.ts",
	} {
		if err := ams.PlayURL(u); err != nil {
			t.Errorf("play %s without a token, play control off: got %v, want accepted", u, err)
		}
	}
	if err := ams.PlayURL("rtmp://live.example.com/WebRTCAppEE/stream1"); !errors.Is(err, antmedia.ErrNotAllowed) {
		t.Errorf("RTMP play with rtmpPlaybackEnabled off: got %v, want refused", err)
	}
}

// TestPlayControlsWithStoredTokensRefuse: with a play control that needs
// what the server stores (one-time tokens, time-based subscribers, a hash
// secret) on beside the JWT control, a valid play JWT is not enough.
func TestPlayControlsWithStoredTokensRefuse(t *testing.T) {
	for _, key := range []string{"playTokenControlEnabled", "enableTimeTokenForPlay", "hashControlPlayEnabled"} {
		t.Run(key, func(t *testing.T) {
			n := jwtNode(t, "i-0q3", "10.0.1.33", false, true)
			path := n.Path("/usr/local/antmedia/webapps/WebRTCAppEE/WEB-INF/red5-web.properties")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, append(b, []byte(key+"=true\n")...), 0o644); err != nil {
				t.Fatal(err)
			}
			amsRestart(t, n)
			tok := streamToken(t, n, "stream1", antmedia.TokenPlay, time.Hour)
			if err := n.AMS().Play("WebRTCAppEE", "stream1", antmedia.HLS, tok); !errors.Is(err, antmedia.ErrNotAllowed) {
				t.Errorf("HLS play with a play JWT and %s on: got %v, want refused", key, err)
			}
		})
	}
}

package antmedia

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// Playing as a viewer does it, against the play controls of the
// application's settings. Where a player puts the token, and what checks
// it, by form (Ant-Media-Server and StreamApp, tag ams-v3.0.3):
//
//   - WebRTC: the application's player page, play.html?id=S&token=T
//     (StreamApp play.html: "token: the token to play stream. It's
//     mandatory if token security is enabled on server side"), whose
//     WebRTCAdaptor.play(streamId, token, ...) sends the WebSocket command
//     {"command":"play","streamId":S,"token":T} (StreamApp
//     src/main/js/webrtc_adaptor.js, play). The open
//     WebSocketCommunityHandler.onMessage answers a play with
//     sendNotFoundJSON; the Enterprise handler that checks the token is
//     closed: the model applies the application's play controls as
//     TokenFilterManager does for HTTP and answers
//     {"command":"error","definition":"unauthorized_access"}.
//   - HTTP (HLS playlists and segments, DASH/CMAF, MP4 recordings): every
//     GET under /<App>/streams/* passes io.antmedia.filter.TokenFilterManager
//     (StreamApp WEB-INF/web.xml maps TokenFilter to /streams/*).
//     doFilter takes the token from the query parameter "token", the stream
//     id from the request path (getStreamId, ported below), refuses any
//     method but GET, HEAD and OPTIONS ("Invalid Request Type"), refuses a
//     path it finds no stream id in when any play control is on
//     (isAnySecurityEnabled), then checks, in order, enableTimeTokenForPlay
//     (checkTimeBasedSubscriber), playTokenControlEnabled (checkToken),
//     hashControlPlayEnabled (checkHash) and playJwtControlEnabled
//     (checkJwtToken(token, streamId, sessionId, Token.PLAY_TOKEN)), each
//     answering 403. ConsoleAppRestServiceTest.testJWTStreamControl (an
//     Enterprise integration test) gets 403 for an MP4 without a token,
//     with an expired play token and with another stream's. The
//     edge-to-origin pull with the ClusterAuthorization header is not
//     modelled: players never send it.
//   - RTMP: org.red5.server.stream.StreamService.play parses the token from
//     the stream name as publish does; verifySecurity refuses every play
//     while the application's rtmpPlaybackEnabled is false (its default,
//     AppSettings @Value "${rtmpPlaybackEnabled:false}") with
//     NetStream.Failed "RTMP playback is disabled.", then asks each
//     IStreamPlaybackSecurity (the Enterprise token service, closed): the
//     model applies the play controls there too.
//
// The time-based, one-time token and hash controls need tokens,
// subscribers or hashes the server stores; the model stores none, so with
// any of them on every play is refused. Whether the stream is live is not
// modelled: a play the controls let through is accepted.

// PlayURL plays as a viewer given one URL does: the player page
// https://host/App/play.html?id=S&token=T, a file under
// https://host/App/streams/ (HLS playlist or segment, DASH, MP4) with
// ?token=T, or rtmp://host/App/S?token=T. It returns nil when the server
// lets the viewer play, an error wrapping ErrNotAllowed when the
// application's play controls refuse, another error otherwise.
func (s *AMSServer) PlayURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("play URL: %w", err)
	}
	switch u.Scheme {
	case "rtmp", "rtmps":
		app, name := ffmpegRTMPSplit(strings.TrimPrefix(raw, u.Scheme+"://"+u.Host))
		return s.playRTMP(app, name)
	case "http", "https":
		app, rest, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		if rest == "play.html" {
			q := u.Query()
			return s.attempt(app, q.Get("id"), TokenPlay, WebRTC, q.Get("token"))
		}
		if strings.HasPrefix(rest, "streams/") {
			return s.streamsRequest(http.MethodGet, app, u.Path, u.Query().Get("token"))
		}
		return fmt.Errorf("play URL %s: neither the player page nor a file under streams/", raw)
	}
	return fmt.Errorf("play URL %q: unknown scheme", u.Scheme)
}

// PlayRequest is an HTTP request with method for a file of app under
// streams/ (file is "stream1.m3u8", "stream1000000005.ts", ...), with
// token ("" for none) as its token query parameter.
func (s *AMSServer) PlayRequest(method, app, file, token string) error {
	return s.streamsRequest(method, app, "/"+app+"/streams/"+file, token)
}

// streamsRequest is TokenFilterManager.doFilter for a request of path
// under the application app.
func (s *AMSServer) streamsRequest(method, app, path, token string) error {
	if method != http.MethodGet && method != http.MethodHead {
		if method == http.MethodOptions {
			return nil
		}
		return fmt.Errorf("%s %s: 403 Invalid Request Type: %w", method, path, ErrNotAllowed)
	}
	token = amsReplaceChars(token)
	stream, ok := tokenFilterStreamID(path)
	if !ok {
		// getStreamId throws (a substring out of range): the filter fails.
		return fmt.Errorf("%s %s: 500 (TokenFilterManager.getStreamId threw)", method, path)
	}
	e := s.env()
	if stream == "" {
		sec, err := s.playSecurity(e, app)
		if err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
		if sec.anyPlayControl() {
			return fmt.Errorf("%s %s: 403 Cannot specified the stream id from the url: %w", method, path, ErrNotAllowed)
		}
		return fmt.Errorf("%s %s: 404 (no stream id, no play control: served as a file that is not there)", method, path)
	}
	return s.attempt(app, stream, TokenPlay, HLS, token)
}

// playSecurity is streamSecurity for a player's request, for a node that
// runs and has the application.
func (s *AMSServer) playSecurity(e *machine.Env, app string) (StreamSecurity, error) {
	rt, err := loadAMSRuntime(e)
	if err != nil {
		return StreamSecurity{}, err
	}
	if !rt.Running || e.Now() < rt.ReadyAt {
		return StreamSecurity{}, fmt.Errorf("connection refused (antmedia is not running)")
	}
	if !amsAppDeployed(e, app) {
		return StreamSecurity{}, fmt.Errorf("404: no application %s on the node", app)
	}
	return s.streamSecurity(e, app)
}

// playRTMP is StreamService.play(name) on a connection to the application
// path app: the token parsed from the name as publish parses it. Unlike
// publish, play does not move a second path segment of the application
// into the name, so rtmp://host/App/stream1/T connects to a scope
// "App/stream1" that does not exist.
func (s *AMSServer) playRTMP(app, name string) error {
	name, params, err := redStreamName(name)
	if err != nil {
		return fmt.Errorf("rtmp play from %s: %w", app, err)
	}
	if name == "" {
		return fmt.Errorf("rtmp play from %s: NetStream.Failed The stream name may not be empty.", app)
	}
	return s.attempt(app, name, TokenPlay, RTMP, params["token"])
}

// playRefusal is why the application's other controls refuse a play
// before its JWT is looked at; "" when they let it through.
func (sec StreamSecurity) playRefusal(protocol Protocol) string {
	switch {
	case protocol == RTMP && !sec.RTMPPlayback:
		return "NetStream.Failed RTMP playback is disabled."
	case sec.PlayTimeToken:
		return "403 Time Based subscriber id or code is invalid (the model stores no subscribers)"
	case sec.PlayToken:
		return "403 Invalid Token (the model stores no one-time tokens)"
	case sec.PlayHash:
		return "403 Invalid Hash (the model keeps no hash secret)"
	}
	return ""
}

// anyPlayControl is TokenFilterManager.isAnySecurityEnabled.
func (sec StreamSecurity) anyPlayControl() bool {
	return sec.PlayJWT || sec.PlayTimeToken || sec.PlayToken || sec.PlayHash
}

// amsReplaceChars is replaceAll(RestServiceBase.REPLACE_CHARS, "_"), the
// character class [\n|\r|\t].
func amsReplaceChars(s string) string {
	return strings.NewReplacer("\n", "_", "|", "_", "\r", "_", "\t", "_").Replace(s)
}

// Patterns of TokenFilterManager.getStreamId (Java String.matches: the
// whole string), with Muxer.SEGMENT_INDEX_LENGTH 9.
var (
	tfDoubleUnderscore = regexp.MustCompile(`^(.*)/(.*)__(.*)$`)
	tfHLSVariant       = regexp.MustCompile(`^(.*)_([0-9]+p|[0-9]+kbps|[0-9]+p[0-9]+kbps).m3u8$`)
	tfVariantSegment   = regexp.MustCompile(`^(.*)_([0-9]+p|[0-9]+kbps|[0-9]+p[0-9]+kbps)+[0-9]{9}.(ts|fmp4)$`)
	tfVariantSegment4  = regexp.MustCompile(`^(.*)_([0-9]+p|[0-9]+kbps|[0-9]+p[0-9]+kbps)+[0-9]{4}.(ts|fmp4)$`)
	tfSegment          = regexp.MustCompile(`^(.*)[0-9]{9}.(ts|fmp4)$`)
	tfSegment4         = regexp.MustCompile(`^(.*)[0-9]{4}.(ts|fmp4)$`)
	tfVODDatetime      = regexp.MustCompile(`^(.*)+(-20)[0-9][0-9]+(-)+([0-9][0-9])+(.*)$`)
	tfVODResolution    = regexp.MustCompile(`^(.*)+_[0-9]+p+[0-9]+kbps+(.*)$`)
	tfUnderscoreNumber = regexp.MustCompile(`^(.*)_[0-9]+(.*)$`)
)

// tfDateTimePattern is Muxer.DATE_TIME_PATTERN.
const tfDateTimePattern = "yyyy-MM-dd_HH-mm-ss.SSS"

// tokenFilterStreamID is TokenFilterManager.getStreamId(requestURI,
// suffixFormat) with the default hlsSegmentFileSuffixFormat "%09d", whose
// regular expressions (no %Y, %m, %d or %s in it) match no file name the
// server writes, so their branches are left out. ok is false where the
// Java code throws (String.substring out of range panics here too, and
// is recovered).
func tokenFilterStreamID(uri string) (id string, ok bool) {
	defer func() {
		if recover() != nil {
			id, ok = "", false
		}
	}()
	if strings.TrimSpace(uri) == "" {
		return "", true
	}
	uri = amsReplaceChars(uri)
	if strings.Contains(uri, "streams") {
		parts := javaSplit(uri, "streams")
		uri = parts[1]
		if strings.HasPrefix(uri, "/drm/") {
			uri = uri[5:]
			return uri[:strings.Index(uri, "/")], true
		}
	}
	if strings.Contains(uri, "m4s") || strings.Contains(uri, "mpd") {
		start, end := strings.Index(uri, "/"), strings.LastIndex(uri, "/")
		if end == 0 {
			return uri, true
		}
		return uri[start+1 : end], true
	} else if strings.Contains(uri, "chunked") {
		uri = javaSplit(uri, "chunked")[1]
		start, end := strings.Index(uri, "/"), strings.LastIndex(uri, "/")
		return uri[start+1 : end], true
	}
	lastSlash := strings.LastIndex(uri, "/") + 1
	if end := strings.LastIndex(uri, "_adaptive.m3u8"); end != -1 {
		return uri[lastSlash:end], true
	}
	if m := tfDoubleUnderscore.FindStringSubmatch(uri); m != nil {
		if strings.Contains(m[3], "kbps") {
			return m[2] + "_", true
		}
		return m[2], true
	}
	if tfHLSVariant.MatchString(uri) {
		return uri[lastSlash:strings.LastIndex(uri, "_")], true
	}
	if end := strings.LastIndex(uri, ".m3u8"); end != -1 {
		return uri[lastSlash:end], true
	}
	if tfVariantSegment.MatchString(uri) || tfVariantSegment4.MatchString(uri) {
		return uri[lastSlash:strings.LastIndex(uri, "_")], true
	}
	if tfSegment.MatchString(uri) {
		return uri[lastSlash : strings.LastIndex(uri, ".")-9], true
	}
	if tfSegment4.MatchString(uri) {
		return uri[lastSlash : strings.LastIndex(uri, ".")-4], true
	}
	if tfVODDatetime.MatchString(uri) {
		end, start := strings.LastIndex(uri, "_"), strings.LastIndex(uri, "/")
		if tfVODResolution.MatchString(uri) {
			uri = uri[start:end]
			end = strings.LastIndex(uri, ".") - (len(tfDateTimePattern) - 3)
			start = 0
		} else {
			end -= len(tfDateTimePattern) - 12
		}
		return uri[start+1 : end], true
	}
	if tfVODResolution.MatchString(uri) {
		end, start := strings.LastIndex(uri, "_"), strings.LastIndex(uri, "/")
		if tfVODResolution.MatchString(uri[start+1 : end]) {
			uri = uri[start:end]
			end = strings.LastIndex(uri, "_")
			start = 0
		}
		return uri[start+1 : end], true
	}
	end := strings.LastIndex(uri, ".mp4")
	if end == -1 {
		end = strings.LastIndex(uri, ".webm")
	}
	if end != -1 {
		if tfUnderscoreNumber.MatchString(uri) {
			end = strings.LastIndex(uri, "_")
		}
		return uri[lastSlash:end], true
	}
	return "", true
}

// javaSplit is Java's String.split(sep) for a literal separator: trailing
// empty strings dropped.
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

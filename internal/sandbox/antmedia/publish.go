package antmedia

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// Publishing and playing as a client does it, against the stream security
// of the application's settings. Where a client puts the token, by protocol:
//
//   - RTMP (Ant-Media-Server org.red5.server.stream.StreamService.publish,
//     tags ams-v3.0.2 and ams-v3.0.3): the stream name of the publish call
//     may carry a query, "stream1?token=T" (parseQueryParameters: split on
//     "?", "&" and "="), or path segments, "stream1/T/subscriberId/code"
//     (parsePathSegments, urlKeys); when the client's application name has
//     a "/" ("WebRTCAppEE/stream1", what ffmpeg sends for
//     rtmp://host/WebRTCAppEE/stream1/T), its second segment is put before
//     the name. verifySecurity then asks every IStreamPublishSecurity of the
//     application with params.get("token"), and answers
//     NetStream.Publish.BadName "You are not allowed to publish the stream."
//     on a refusal. How ffmpeg splits an rtmp:// URL into application and
//     stream name is FFmpeg's libavformat/rtmpproto.c rtmp_open: the first
//     path segment is the application, unless the rest has another "/",
//     in which case the application is the first two segments.
//   - SRT (the Enterprise SRTAdaptor, closed; the open SRTAdaptor is a
//     mock): Ant Media's SRT ingest guide and its stream security guides
//     give the stream id "App/streamId,token=T"
//     (srt://host:4200?streamid=WebRTCAppEE/stream1,token=T).
//   - WebRTC: the application's publish page (StreamApp tag ams-v3.0.3,
//     index.html passes ?id= and ?token= on to samples/publish_webrtc.html,
//     whose WebRTCAdaptor.publish(streamId, token, ...) sends the WebSocket
//     command {"command":"publish","streamId":...,"token":...}:
//     webrtc_adaptor.js sendPublishCommand); the Enterprise WebSocket
//     handler answers {"command":"error","definition":"unauthorized_access"}
//     (WebSocketConstants.UNAUTHORIZED) on a refusal.
//
// The check itself is jwt.go's. The other publish security handlers
// (publishTokenControlEnabled, time-based tokens, acceptOnlyStreamsInDataStore,
// allowedPublisherCIDR) are not modelled: the stack leaves them off.

// Protocol is how a client publishes or plays.
type Protocol string

// Protocols a client publishes or plays with.
const (
	RTMP   Protocol = "rtmp"
	SRT    Protocol = "srt"
	WebRTC Protocol = "webrtc"
	HLS    Protocol = "hls" // play only: GET streams/{id}.m3u8?token= (TokenFilterManager)
)

// amsWallEpoch is the wall time of the world's virtual second 0. A JWT's
// exp is wall time: a node's wall clock reads amsWallEpoch plus the
// world's time (the node's launch time plus its uptime), the same on
// every node of a world with one clock.
var amsWallEpoch = time.Date(2026, time.December, 3, 18, 0, 0, 0, time.UTC)

// ErrNotAllowed is the cause of every refused publish or play; the
// wrapping error says what the client saw and why.
var ErrNotAllowed = errors.New("not allowed")

// StreamSecurity is the part of an application's settings that decides
// who may publish and play (AppSettings publishJwtControlEnabled,
// playJwtControlEnabled, jwtStreamSecretKey; for players also
// rtmpPlaybackEnabled, playTokenControlEnabled, enableTimeTokenForPlay and
// hashControlPlayEnabled: play.go).
type StreamSecurity struct {
	PublishJWT, PlayJWT bool
	Secret              string
	// RTMPPlayback lets RTMP players in at all.
	RTMPPlayback bool
	// PlayToken, PlayTimeToken and PlayHash are the play controls that
	// need stored tokens, subscribers or a hash secret.
	PlayToken, PlayTimeToken, PlayHash bool
}

// WallClock is the node's wall time now: what a JWT's exp is compared with.
func (s *AMSServer) WallClock() time.Time {
	e := s.env()
	return amsWallEpoch.Add(time.Duration(e.Node.Born+e.Now()) * time.Second)
}

// Publish is a client publishing stream to app over protocol with token
// ("" for none), the token placed where that protocol's clients put it.
// It returns nil when the server accepts the stream, an error wrapping
// ErrNotAllowed when the application's stream security refuses it, and
// another error when the server does not answer or has no such
// application.
func (s *AMSServer) Publish(app, stream string, protocol Protocol, token string) error {
	switch protocol {
	case RTMP:
		name := stream
		if token != "" {
			name += "?token=" + token
		}
		return s.publishRTMP(app, name)
	case SRT:
		id := app + "/" + stream
		if token != "" {
			id += ",token=" + token
		}
		return s.publishSRT(id)
	case WebRTC:
		return s.attempt(app, stream, TokenPublish, WebRTC, token)
	}
	return fmt.Errorf("publish over %s: not a publish protocol", protocol)
}

// Play is a client playing stream of app over protocol with token, the
// token placed where that protocol's players put it (play.go): the
// WebSocket play command, the HLS playlist's query
// (GET /app/streams/stream.m3u8?token=T) or the RTMP stream name.
func (s *AMSServer) Play(app, stream string, protocol Protocol, token string) error {
	switch protocol {
	case WebRTC:
		return s.attempt(app, stream, TokenPlay, WebRTC, token)
	case HLS:
		return s.PlayRequest(http.MethodGet, app, stream+".m3u8", token)
	case RTMP:
		name := stream
		if token != "" {
			name += "?token=" + token
		}
		return s.playRTMP(app, name)
	}
	return fmt.Errorf("play over %s: not modelled", protocol)
}

// PublishURL publishes as a client given one URL does: rtmp://host/App/name
// (ffmpeg's split of application and stream name), srt://host:port?streamid=...,
// or the application's publish page https://host/App/?id=stream&token=T.
func (s *AMSServer) PublishURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("publish URL: %w", err)
	}
	switch u.Scheme {
	case "rtmp", "rtmps":
		app, name := ffmpegRTMPSplit(strings.TrimPrefix(raw, u.Scheme+"://"+u.Host))
		return s.publishRTMP(app, name)
	case "srt":
		id := u.Query().Get("streamid")
		return s.publishSRT(id)
	case "http", "https":
		app := strings.Trim(u.Path, "/")
		app = strings.TrimSuffix(app, "/index.html")
		q := u.Query()
		return s.attempt(app, q.Get("id"), TokenPublish, WebRTC, q.Get("token"))
	}
	return fmt.Errorf("publish URL %q: unknown scheme", u.Scheme)
}

// PublishRTMP publishes as OBS does: Server rtmp://host/app, Stream Key key.
func (s *AMSServer) PublishRTMP(app, key string) error { return s.publishRTMP(app, key) }

// ffmpegRTMPSplit is rtmp_open's split of an rtmp:// URL's path (query
// included) into the connect's application and the publish's stream name.
func ffmpegRTMPSplit(path string) (app, name string) {
	next := strings.TrimPrefix(path, "/")
	p := strings.IndexByte(next, '/')
	if p < 0 {
		return next, ""
	}
	rest := next[p+1:]
	slash, colon := strings.IndexByte(rest, '/'), strings.IndexByte(rest, ':')
	if slash < 0 || (colon >= 0 && colon < slash) {
		return next[:p], rest
	}
	return next[:p+1+slash], rest[slash+1:]
}

// publishRTMP is StreamService.publish(name) on a connection to the
// application path connectApp.
func (s *AMSServer) publishRTMP(connectApp, name string) error {
	app := connectApp
	if strings.Contains(connectApp, "/") {
		segs := strings.Split(connectApp, "/")
		app = segs[0]
		name = segs[1] + "/" + name
	}
	name, params, err := redStreamName(name)
	if err != nil {
		return fmt.Errorf("rtmp publish to %s: %w", app, err)
	}
	if name == "" {
		return fmt.Errorf("rtmp publish to %s: NetStream.Publish.Failed: The stream name may not be empty.", app)
	}
	return s.attempt(app, name, TokenPublish, RTMP, params["token"])
}

// redStreamName is StreamService's parse of the stream name a publish or
// play call gives: a query ("stream1?token=T", parseQueryParameters) or
// path segments ("stream1/T/subscriberId/code", parsePathSegments); it
// returns the stream name and the parameters.
func redStreamName(name string) (string, map[string]string, error) {
	params := map[string]string{}
	switch {
	case strings.Contains(name, "?"):
		var err error
		if params, err = redParseQuery(name); err != nil {
			return "", nil, fmt.Errorf("stream name %q: %w", name, err)
		}
		name = name[:strings.Index(name, "?")]
	case strings.ContainsAny(name, "/%2F"):
		// name.matches(".*[/%2F].*"): a character class, so any "/", "%",
		// "2" or "F" sends the name here; a name without "/" or "%2F"
		// comes out whole, without a token.
		keys := []string{"streamName", "token", "subscriberId", "subscriberCode"}
		for i, seg := range splitSlashOr2F(name) {
			if i < len(keys) {
				params[keys[i]] = seg
			}
		}
		name = params["streamName"]
	}
	return name, params, nil
}

// redParseQuery is StreamService.parseQueryParameters: the part after the
// first "?", split on "&", each split on "=" as Java's String.split does
// (trailing empty strings dropped), the value being the second piece. A
// piece without a value throws ArrayIndexOutOfBoundsException.
func redParseQuery(name string) (map[string]string, error) {
	tmp := strings.SplitN(name, "?", 3)[1]
	params := map[string]string{}
	for _, kv := range strings.Split(tmp, "&") {
		split := strings.Split(kv, "=")
		for len(split) > 0 && split[len(split)-1] == "" {
			split = split[:len(split)-1]
		}
		if len(split) < 2 {
			return nil, fmt.Errorf("java.lang.ArrayIndexOutOfBoundsException parsing %q", kv)
		}
		params[split[0]] = split[1]
	}
	return params, nil
}

// splitSlashOr2F is Java's name.split("/|%2F"): trailing empty strings dropped.
func splitSlashOr2F(s string) []string {
	segs := strings.Split(strings.ReplaceAll(s, "%2F", "/"), "/")
	for len(segs) > 0 && segs[len(segs)-1] == "" {
		segs = segs[:len(segs)-1]
	}
	return segs
}

// amsSRTDefaultApp is ServerSettings.appIngestsSrtStreamsWithoutStreamId's
// default: the application an SRT stream without a stream id goes to
// (since 2.8.0, with the publisher's address as its id: SRT ingest guide).
const amsSRTDefaultApp = "LiveApp"

// publishSRT is the Enterprise SRT adaptor given a stream id
// "App/stream[,key=value...]" as Ant Media's guides write it; without
// one, the stream goes to amsSRTDefaultApp, named after the publisher's
// address, with no token.
func (s *AMSServer) publishSRT(streamID string) error {
	if streamID == "" {
		return s.attempt(amsSRTDefaultApp, "198.51.100.7", TokenPublish, SRT, "")
	}
	fields := strings.Split(streamID, ",")
	app, stream, ok := strings.Cut(fields[0], "/")
	if !ok || app == "" || stream == "" {
		return fmt.Errorf("srt publish: stream id %q is not App/streamId", streamID)
	}
	token := ""
	for _, f := range fields[1:] {
		if k, v, ok := strings.Cut(f, "="); ok && k == "token" {
			token = v
		}
	}
	return s.attempt(app, stream, TokenPublish, SRT, token)
}

// attempt runs the application's stream security for one publish or play.
func (s *AMSServer) attempt(app, stream, typ string, protocol Protocol, token string) error {
	e := s.env()
	rt, err := loadAMSRuntime(e)
	if err != nil {
		return err
	}
	if !rt.Running || e.Now() < rt.ReadyAt {
		return fmt.Errorf("%s %s to %s/%s: connection refused (antmedia is not running)", protocol, typ, app, stream)
	}
	if !amsAppDeployed(e, app) {
		return fmt.Errorf("%s %s to %s/%s: no application %s on the node", protocol, typ, app, stream, app)
	}
	if stream == "" {
		return fmt.Errorf("%s %s to %s: the stream name may not be empty", protocol, typ, app)
	}
	sec, err := s.streamSecurity(e, app)
	if err != nil {
		return fmt.Errorf("%s %s to %s/%s: %w", protocol, typ, app, stream, err)
	}
	enabled := sec.PublishJWT
	if typ == TokenPlay {
		enabled = sec.PlayJWT
		if why := sec.playRefusal(protocol); why != "" {
			amsLog(e, "WARN", "io.antmedia.security", "%s play of stream %s refused: %s", protocol, stream, why)
			return fmt.Errorf("%s %s to %s/%s: %s: %w", protocol, typ, app, stream, why, ErrNotAllowed)
		}
	}
	if !enabled {
		return nil
	}
	if err := CheckStreamToken(token, sec.Secret, stream, typ, s.WallClock()); err != nil {
		if protocol == RTMP && typ == TokenPlay {
			amsLog(e, "ERROR", "org.red5.server.stream.StreamService", "You are not allowed to play the stream %s due to security", stream)
		} else if protocol == RTMP {
			amsLog(e, "ERROR", "org.red5.server.stream.StreamService", "You are not allowed to publish the stream %s", stream)
		} else {
			amsLog(e, "WARN", "io.antmedia.security", "%s %s of stream %s refused: %v", protocol, typ, stream, err)
		}
		return fmt.Errorf("%s %s to %s/%s: %s: %w (%v)", protocol, typ, app, stream, refusal(protocol, typ), ErrNotAllowed, err)
	}
	return nil
}

// refusal is what the client sees when the stream security refuses it.
func refusal(protocol Protocol, typ string) string {
	switch {
	case protocol == RTMP && typ == TokenPublish:
		return "NetStream.Publish.BadName You are not allowed to publish the stream."
	case protocol == RTMP:
		return "NetStream.Publish.BadName You are not allowed to play the stream due to security."
	case protocol == WebRTC:
		return `{"command":"error","definition":"unauthorized_access"}`
	case protocol == HLS:
		return "403 Invalid JWT Token"
	}
	return "connection rejected"
}

// streamSecurity is the application's stream security as the server uses
// it now: the bean, as readAppSettings has it from WEB-INF/red5-web.properties
// (read at start, rewritten whole by a settings update through the REST
// API: AntMediaApplicationAdapter.updateSettings).
func (s *AMSServer) streamSecurity(e *machine.Env, app string) (StreamSecurity, error) {
	settings, err := readAppSettings(e, app)
	if err != nil {
		return StreamSecurity{}, fmt.Errorf("settings of %s: %w", app, err)
	}
	flag := func(name string) bool {
		b, _ := settings[name].(bool)
		return b
	}
	secret, _ := settings["jwtStreamSecretKey"].(string)
	sec := StreamSecurity{
		PublishJWT: flag("publishJwtControlEnabled"), PlayJWT: flag("playJwtControlEnabled"), Secret: secret,
		PlayToken: flag("playTokenControlEnabled"), PlayTimeToken: flag("enableTimeTokenForPlay"),
	}
	// Two fields the settings model does not keep, read from the bean's
	// file with their @Value defaults (false).
	props, err := readJavaProperties(amsWebPropertiesPath(e, app))
	if err != nil {
		return StreamSecurity{}, fmt.Errorf("settings of %s: %w", app, err)
	}
	sec.RTMPPlayback = props["rtmpPlaybackEnabled"] == "true"
	sec.PlayHash = props["hashControlPlayEnabled"] == "true"
	return sec, nil
}

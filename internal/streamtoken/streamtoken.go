// Package streamtoken mints the JWTs that Ant Media Server's JWT stream
// security accepts (an application's publishJwtControlEnabled and
// playJwtControlEnabled, signed with its jwtStreamSecretKey) and writes the
// URLs that carry one, by protocol. The check it satisfies is modelled, with
// its sources, in internal/sandbox/antmedia (jwt.go, publish.go).
package streamtoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Token types, as Ant Media names them (Token.PUBLISH_TOKEN, PLAY_TOKEN).
const (
	TypePublish = "publish"
	TypePlay    = "play"
)

// MinSecret is the shortest key Ant Media's token service accepts
// (AppSettings.jwtStreamSecretKey: 32 characters or more).
const MinSecret = 32

// srtPort is components.SRTPort, Ant Media's SRT ingest port (kept here
// so that cmd/token builds without the stack's dependencies).
const srtPort = 4200

// SecretParameterName is the SecureString parameter holding a stack's
// jwtStreamSecretKey: components.JWTSecretParameterName with the project
// ams-cluster.
func SecretParameterName(stack string) string {
	return "/ams-cluster/" + stack + "/apps/jwt-stream-secret"
}

// Claims are what a stream token grants.
type Claims struct {
	StreamID string
	Type     string // TypePublish or TypePlay
	Expires  time.Time
}

// Mint signs claims with secret as Ant Media's JWT stream security checks
// them: HS256, with the claims streamId, type and exp (Unix seconds).
func Mint(secret string, c Claims) (string, error) {
	if len(secret) < MinSecret {
		return "", fmt.Errorf("the key has %d characters; Ant Media wants %d or more", len(secret), MinSecret)
	}
	if c.StreamID == "" || (c.Type != TypePublish && c.Type != TypePlay) {
		return "", fmt.Errorf("a token needs a stream id and the type publish or play, got %q and %q", c.StreamID, c.Type)
	}
	header, err := json.Marshal(struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
	}{"HS256", "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(struct {
		StreamID string `json:"streamId"`
		Type     string `json:"type"`
		Exp      int64  `json:"exp"`
	}{c.StreamID, c.Type, c.Expires.Unix()})
	if err != nil {
		return "", err
	}
	signing := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)), nil
}

// Hosts are where a stack's clients connect; an empty one prints as a
// placeholder.
type Hosts struct {
	// Web is the publish page's URL base (https://live.example.com), Play
	// the player's (https://live.example.com:5443).
	Web, Play string
	// Ingest is the RTMP and SRT host (ingest.live.example.com).
	Ingest string
}

// Describe is the command's report: the token, its validity, and the
// URLs that carry it, one a line.
func Describe(token, app, stream, typ string, exp time.Time, ttl time.Duration, h Hosts) string {
	web := strings.TrimSuffix(or(h.Web, "https://HOST"), "/")
	play := strings.TrimSuffix(or(h.Play, web), "/")
	ingest := or(h.Ingest, "INGEST-HOST")
	id := url.QueryEscape(stream)
	var b strings.Builder
	fmt.Fprintf(&b, "token    %s\n", token)
	fmt.Fprintf(&b, "stream   %s/%s (%s)\n", app, stream, typ)
	fmt.Fprintf(&b, "expires  %s (in %s)\n\n", exp.UTC().Format(time.RFC3339), ttl)
	if typ == TypePlay {
		fmt.Fprintf(&b, "WebRTC player  %s/%s/play.html?id=%s&token=%s\n", play, app, id, token)
		fmt.Fprintf(&b, "HLS            %s/%s/streams/%s.m3u8?token=%s\n", play, app, id, token)
		return b.String()
	}
	fmt.Fprintf(&b, "RTMP (ffmpeg)  rtmp://%s/%s/%s?token=%s\n", ingest, app, stream, token)
	fmt.Fprintf(&b, "RTMP (OBS)     Server: rtmp://%s/%s   Stream Key: %s?token=%s\n", ingest, app, stream, token)
	fmt.Fprintf(&b, "SRT            srt://%s:%d?streamid=%s/%s,token=%s\n", ingest, srtPort, app, stream, token)
	fmt.Fprintf(&b, "WebRTC page    %s/%s/?id=%s&token=%s\n", web, app, id, token)
	return b.String()
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

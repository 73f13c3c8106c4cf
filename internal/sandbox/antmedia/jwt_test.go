package antmedia_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
)

const (
	testSecret  = "0123456789abcdefghijklmnopqrstuvwxyzABCD" // 40 characters
	otherSecret = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxw"
)

// signJWT builds a token by hand, header and claims as given, signed with
// HMAC-SHA256 under secret: the tests' own signer, apart from cmd/token's.
func signJWT(t *testing.T, header, claims map[string]any, secret string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	signing := enc(header) + "." + enc(claims)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func hs256() map[string]any { return map[string]any{"alg": "HS256", "typ": "JWT"} }

// TestJWTStreamTokenRule checks each rule of the modelled checkJwtToken
// for a publish of stream1 at a fixed wall time.
func TestJWTStreamTokenRule(t *testing.T) {
	now := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC)
	claims := func(kv ...any) map[string]any {
		m := map[string]any{"streamId": "stream1", "type": "publish", "exp": now.Add(time.Hour).Unix()}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	valid := signJWT(t, hs256(), claims(), testSecret)
	unsigned := strings.Join(strings.Split(signJWT(t, map[string]any{"alg": "none", "typ": "JWT"}, claims(), testSecret), ".")[:2], ".") + "."
	for _, tc := range []struct {
		name, token, secret, stream, typ string
		ok                               bool
		why                              string
	}{
		{name: "valid publish token", token: valid, ok: true},
		{name: "no expiry at all (java-jwt checks exp only when present)", token: signJWT(t, hs256(), claims("exp", nil), testSecret), ok: true},
		{name: "no token", token: "", why: "null"},
		{name: "expired an hour ago", token: signJWT(t, hs256(), claims("exp", now.Add(-time.Hour).Unix()), testSecret), why: "expired"},
		{name: "expiring this very second", token: signJWT(t, hs256(), claims("exp", now.Unix()), testSecret), why: "expired"},
		{name: "another stream's token", token: valid, stream: "stream2", why: "'streamId'"},
		{name: "a play token used to publish", token: signJWT(t, hs256(), claims("type", "play"), testSecret), why: "'type'"},
		{name: "a publish token used to play", token: valid, typ: antmedia.TokenPlay, why: "'type'"},
		{name: "signed with another secret", token: signJWT(t, hs256(), claims(), otherSecret), why: "Signature"},
		{name: "alg none, no signature", token: unsigned, why: "Algorithm"},
		{name: "alg none with an HS256 signature", token: signJWT(t, map[string]any{"alg": "none"}, claims(), testSecret), why: "Algorithm"},
		{name: "HS512", token: signJWT(t, map[string]any{"alg": "HS512"}, claims(), testSecret), why: "Algorithm"},
		{name: "no streamId claim", token: signJWT(t, hs256(), claims("streamId", nil), testSecret), why: "not present"},
		{name: "numeric streamId", token: signJWT(t, hs256(), claims("streamId", 1), testSecret), stream: "1", why: "'streamId'"},
		{name: "exp as text", token: signJWT(t, hs256(), claims("exp", "2099-01-01"), testSecret), why: "non-numeric"},
		{name: "not yet valid (nbf)", token: signJWT(t, hs256(), claims("nbf", now.Add(time.Minute).Unix()), testSecret), why: "before"},
		{name: "issued in the future (iat)", token: signJWT(t, hs256(), claims("iat", now.Add(time.Minute).Unix()), testSecret), why: "before"},
		{name: "payload changed after signing", token: tamper(t, valid), why: "Signature"},
		{name: "two parts", token: strings.Join(strings.Split(valid, ".")[:2], "."), why: "3 parts"},
		{name: "secret shorter than 32 characters", token: signJWT(t, hs256(), claims(), "short-secret"), secret: "short-secret", why: "fewer than 32"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			secret, stream, typ := or(tc.secret, testSecret), or(tc.stream, "stream1"), or(tc.typ, antmedia.TokenPublish)
			err := antmedia.CheckStreamToken(tc.token, secret, stream, typ, now)
			if tc.ok {
				if err != nil {
					t.Fatalf("got %v, want the token accepted", err)
				}
				return
			}
			if !errors.Is(err, antmedia.ErrJWTInvalid) || !strings.Contains(err.Error(), tc.why) {
				t.Fatalf("got %v, want a refusal mentioning %q", err, tc.why)
			}
		})
	}
}

// tamper swaps the token's payload for one naming another stream, keeping
// the signature.
func tamper(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	b, _ := json.Marshal(map[string]any{"streamId": "stream9", "type": "publish"})
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

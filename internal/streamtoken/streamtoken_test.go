package streamtoken_test

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/streamtoken"
)

// TestMintClaims decodes a minted token: the header says HS256 and the
// payload carries exactly streamId, type and exp in Unix seconds.
func TestMintClaims(t *testing.T) {
	exp := time.Date(2026, 12, 4, 7, 0, 0, 0, time.UTC)
	tok, err := streamtoken.Mint(strings.Repeat("k", 32), streamtoken.Claims{StreamID: "stream1", Type: streamtoken.TypePublish, Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q: want three parts", tok)
	}
	for i, want := range []string{`{"alg":"HS256","typ":"JWT"}`, `{"streamId":"stream1","type":"publish","exp":1796367600}`} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || string(b) != want {
			t.Errorf("part %d: got %s (%v), want %s", i, b, err, want)
		}
	}
}

// TestMintRefuses checks the keys and claims Ant Media would not take.
func TestMintRefuses(t *testing.T) {
	for name, tc := range map[string]struct {
		key string
		c   streamtoken.Claims
	}{
		"31-character key": {strings.Repeat("k", 31), streamtoken.Claims{StreamID: "s", Type: streamtoken.TypePublish}},
		"no stream":        {strings.Repeat("k", 32), streamtoken.Claims{Type: streamtoken.TypePublish}},
		"unknown type":     {strings.Repeat("k", 32), streamtoken.Claims{StreamID: "s", Type: "view"}},
	} {
		if _, err := streamtoken.Mint(tc.key, tc.c); err == nil {
			t.Errorf("%s: minted, want an error", name)
		}
	}
}

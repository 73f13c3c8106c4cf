package tests

import (
	"errors"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/streamtoken"
)

// TestPublishNeedsATokenOnADefaultStack boots the default stack's MongoDB
// and an origin in the sandbox, then publishes to the origin as encoders
// and pages do (antmedia.AMSServer.Publish, Ant Media's JWT stream security
// as its sources check it): without a token, with an expired one, with
// another stream's and with a play token, every managed application
// refuses; with a token minted as cmd/token mints it, from the key in the
// stack's parameter, RTMP, SRT and the WebRTC page are accepted.
func TestPublishNeedsATokenOnADefaultStack(t *testing.T) {
	eachTiming(t, publishNeedsAToken)
}

// eachTiming runs scenario under every timing, in parallel.
func eachTiming(t *testing.T, scenario func(t *testing.T, timing sandbox.Timing)) {
	t.Parallel()
	for _, tm := range timings() {
		t.Run(tm.name, func(t *testing.T) {
			t.Parallel()
			scenario(t, tm.timing)
		})
	}
}

// tokenCluster deploys the dev stack with overrides on a world of timing
// and returns it, the list of failures (reported when the test ends) and
// the stack's JWT stream key.
func tokenCluster(t *testing.T, timing sandbox.Timing, overrides map[string]string) (*bootCluster, *failures, string) {
	t.Helper()
	c := newBootClusterWith(t, stackScripts(), overrides).timed(timing)
	f := &failures{t: t}
	t.Cleanup(func() {
		for _, msg := range f.list {
			t.Error(msg)
		}
	})
	secret, ok := c.params[streamtoken.SecretParameterName("dev")]
	if !ok || len(secret) < streamtoken.MinSecret {
		t.Fatalf("the stack keeps no JWT stream key of %d characters or more in %s", streamtoken.MinSecret, streamtoken.SecretParameterName("dev"))
	}
	return c, f, secret
}

// minter mints tokens as cmd/token does, with secret, valid for a time
// from the wall clock of ams.
func minter(t *testing.T, secret string, ams *antmedia.AMSServer) func(stream, typ string, ttl time.Duration) string {
	return func(stream, typ string, ttl time.Duration) string {
		tok, err := streamtoken.Mint(secret, streamtoken.Claims{StreamID: stream, Type: typ, Expires: ams.WallClock().Add(ttl)})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
}

func publishNeedsAToken(t *testing.T, timing sandbox.Timing) {
	c, f, secret := tokenCluster(t, timing, nil)
	mongo := c.mongoNode(c.mongoID, 5)
	c.checkRun(f, c.bootMongo(mongo), "the MongoDB boot script")
	origin := c.amsNode(components.RoleOrigin, "i-0a1b2c3d4e5f60501", "10.20.0.90")
	c.checkRun(f, c.bootAMS(origin, components.RoleOrigin).Wait(), "the origin's boot script")
	c.continued(f, origin, "the origin")
	if len(f.list) > 0 {
		return
	}
	ams := origin.AMS()
	mint := minter(t, secret, ams)
	refused := map[string]string{
		"no token":               "",
		"an expired token":       mint("stream1", streamtoken.TypePublish, -time.Second),
		"another stream's token": mint("stream2", streamtoken.TypePublish, time.Hour),
		"a play token":           mint("stream1", streamtoken.TypePlay, time.Hour),
	}
	for _, app := range components.DefaultApps() {
		for what, tok := range refused {
			for _, p := range []antmedia.Protocol{antmedia.RTMP, antmedia.SRT, antmedia.WebRTC} {
				err := ams.Publish(app, "stream1", p, tok)
				f.check(errors.Is(err, antmedia.ErrNotAllowed), "%s publish to %s with %s: got %v, want refused", p, app, what, err)
			}
		}
		tok := mint("stream1", streamtoken.TypePublish, time.Hour)
		for _, p := range []antmedia.Protocol{antmedia.RTMP, antmedia.SRT, antmedia.WebRTC} {
			f.check(ams.Publish(app, "stream1", p, tok) == nil, "%s publish to %s with a valid token: %v", p, app, ams.Publish(app, "stream1", p, tok))
		}
	}
	// An SRT encoder without a stream id lands in LiveApp, which wants a token too.
	err := ams.PublishURL("srt://ingest.example.com:4200")
	f.check(errors.Is(err, antmedia.ErrNotAllowed), "SRT publish without a stream id: got %v, want refused", err)
	_, exported := c.r.outputs["playTokenCommand"]
	f.check(!exported, "the default stack (playAuth none) exports playTokenCommand")
	// Players need no token by default (playAuth none): the negative
	// variant of TestPlayNeedsATokenWithPlayAuthJWT, whose refusals this
	// shows come from the stack's playAuth.
	for _, app := range components.DefaultApps() {
		for _, u := range playForms("https://live.example.com:5443", app, "") {
			err := ams.PlayURL(u)
			f.check(err == nil, "play %s without a token with playAuth none: got %v, want accepted", u, err)
		}
	}
}

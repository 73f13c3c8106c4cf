package tests

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/streamtoken"
)

// TestPlayNeedsATokenWithPlayAuthJWT boots a stack with playAuth jwt (the
// MongoDB node, an origin and an edge), publishes stream1 on the origin
// with a publish token, then plays it on the edge, where the play URL
// sends viewers, and on the origin, as viewers do (antmedia.AMSServer.PlayURL:
// the player page's WebSocket play command and TokenFilterManager for HLS,
// as Ant Media 3.0.3's sources check them). Without a token, with an
// expired one, with a publish token and with another stream's, every
// managed application refuses the player page, the HLS playlist and its
// segments; the URLs cmd/token prints for a play token (-type play, from
// the key in the stack's parameter) are accepted. RTMP play stays refused
// (rtmpPlaybackEnabled is off). The negative variant, the default
// playAuth none, lets the same viewers in without a token
// (TestPublishNeedsATokenOnADefaultStack, which boots that stack): the
// refusals come from the stack's setting, not from the stand-in.
func TestPlayNeedsATokenWithPlayAuthJWT(t *testing.T) {
	eachTiming(t, playNeedsAToken)
}

func playNeedsAToken(t *testing.T, timing sandbox.Timing) {
	c, f, secret := tokenCluster(t, timing, map[string]string{"playAuth": components.AuthJWT})
	playHost := playTokenCommandHost(t, c)
	c.checkRun(f, c.bootMongo(c.mongoNode(c.mongoID, 5)), "the MongoDB boot script")
	nodes := map[string]*sandbox.Node{}
	for i, role := range []string{components.RoleOrigin, components.RoleEdge} {
		n := c.amsNode(role, []string{"i-0a1b2c3d4e5f60701", "i-0a1b2c3d4e5f60702"}[i], []string{"10.20.0.94", "10.20.0.95"}[i])
		c.checkRun(f, c.bootAMS(n, role).Wait(), "the "+role+"'s boot script")
		c.continued(f, n, "the "+role)
		nodes[role] = n
	}
	if len(f.list) > 0 {
		return
	}
	origin := nodes[components.RoleOrigin].AMS()
	mint := minter(t, secret, origin)
	rtmpHost := playHost
	if u, err := url.Parse(playHost); err == nil {
		rtmpHost = u.Hostname()
	}
	for _, app := range components.DefaultApps() {
		err := origin.Publish(app, "stream1", antmedia.WebRTC, mint("stream1", streamtoken.TypePublish, time.Hour))
		f.check(err == nil, "publish stream1 to %s with a publish token: %v", app, err)
		refused := map[string]string{
			"no token":               "",
			"an expired token":       mint("stream1", streamtoken.TypePlay, -time.Second),
			"a publish token":        mint("stream1", streamtoken.TypePublish, time.Hour),
			"another stream's token": mint("stream2", streamtoken.TypePlay, time.Hour),
		}
		tok := mint("stream1", streamtoken.TypePlay, time.Hour)
		for _, role := range []string{components.RoleEdge, components.RoleOrigin} {
			ams := nodes[role].AMS()
			for what, bad := range refused {
				for _, u := range playForms(playHost, app, bad) {
					err := ams.PlayURL(u)
					f.check(errors.Is(err, antmedia.ErrNotAllowed), "%s: play %s with %s: got %v, want refused", role, u, what, err)
				}
			}
			for _, u := range playForms(playHost, app, tok) {
				err := ams.PlayURL(u)
				f.check(err == nil, "%s: play %s with a minted play token: %v", role, u, err)
			}
			err := ams.PlayURL("rtmp://" + rtmpHost + "/" + app + "/stream1?token=" + tok)
			f.check(errors.Is(err, antmedia.ErrNotAllowed), "%s: RTMP play of %s with a play token: got %v, want refused (rtmpPlaybackEnabled off)", role, app, err)
		}
	}
}

// playForms are the URLs a viewer of stream1 of app plays with token:
// the two cmd/token prints for a play token (the WebRTC player page and
// the HLS playlist) and a segment of the playlist, which carries the
// token the same way.
func playForms(playHost, app, token string) []string {
	report := streamtoken.Describe(token, app, "stream1", streamtoken.TypePlay, time.Now(), time.Hour, streamtoken.Hosts{Play: playHost})
	var out []string
	for _, l := range strings.Split(report, "\n") {
		if strings.HasPrefix(l, "WebRTC player") || strings.HasPrefix(l, "HLS") {
			out = append(out, strings.Fields(l)[len(strings.Fields(l))-1])
		}
	}
	seg := playHost + "/" + app + "/streams/stream1000000003.ts"
	if token != "" {
		seg += "?token=" + token
	}
	return append(out, seg)
}

// playTokenCommandHost checks the stack's playTokenCommand output and
// returns its -play host.
func playTokenCommandHost(t *testing.T, c *bootCluster) string {
	t.Helper()
	cmd := c.r.outputString(t, "playTokenCommand")
	fields := strings.Fields(cmd)
	for i, fl := range fields {
		if fl == "-play" && i+1 < len(fields) && strings.HasSuffix(cmd, " -type play") {
			return fields[i+1]
		}
	}
	t.Errorf("playTokenCommand %q: want cmd/token with -play HOST and -type play", cmd)
	return "https://live.example.com:5443"
}

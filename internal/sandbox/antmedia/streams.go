package antmedia

import (
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// The application REST API a node's agent reads its load from
// (Ant-Media-Server io.antmedia.rest.BroadcastRestService, @Path("/v2/broadcasts")
// under each application's /<app>/rest/*): the broadcast list
// (@Path("/list/{offset}/{size}"), at most 50 a page) and the WebRTC
// players of one stream on this node (@Path("/{stream_id}/webrtc-client-stats/{offset}/{size}"),
// one WebRTCClientStats per player, from the node's own WebRTC adaptor).
// An application's REST filter lets through, without a token, the
// addresses in its remoteAllowedCIDR setting, 127.0.0.1 by default.

// AMSStream is one live stream as a node's Ant Media Server sees it.
type AMSStream struct {
	// App is the application ("LiveApp", "WebRTCAppEE"); ID the stream ID.
	App, ID string
	// Publisher reports that the stream is published on this node (its
	// originAdress is the node's address); otherwise another origin's.
	Publisher bool
	// WebRTCViewers are the players of the stream on this node.
	WebRTCViewers int
	// HLSViewers is the cluster-wide HLS viewer count the broadcast records.
	HLSViewers int
}

// amsLoad is what a node's streams look like from a virtual second on.
type amsLoad struct {
	from    int
	streams []AMSStream
}

// SetStreams sets the node's live streams from virtual second from (on
// the node's clock) on, until a later SetStreams takes over: a test
// scripts viewers and publishers arriving and leaving over time.
func (s *AMSServer) SetStreams(from int, streams ...AMSStream) {
	s.loadsMu.Lock()
	defer s.loadsMu.Unlock()
	s.loads = append(s.loads, amsLoad{from: from, streams: streams})
	sort.SliceStable(s.loads, func(i, j int) bool { return s.loads[i].from < s.loads[j].from })
}

// streamsAt are the node's streams at virtual second now.
func (s *AMSServer) streamsAt(now int) []AMSStream {
	s.loadsMu.Lock()
	defer s.loadsMu.Unlock()
	var out []AMSStream
	for _, l := range s.loads {
		if l.from <= now {
			out = l.streams
		}
	}
	return out
}

var (
	amsBroadcastList = regexp.MustCompile(`^/([A-Za-z0-9_-]+)/rest/v2/broadcasts/list/([0-9]+)/([0-9]+)$`)
	amsClientStats   = regexp.MustCompile(`^/([A-Za-z0-9_-]+)/rest/v2/broadcasts/([^/]+)/webrtc-client-stats/([0-9]+)/([0-9]+)$`)
)

// serveApp answers an application REST request; false when the path is
// not one. The running server is the caller's concern.
func (s *AMSServer) serveApp(w http.ResponseWriter, r *http.Request, e *machine.Env) bool {
	list, stats := amsBroadcastList.FindStringSubmatch(r.URL.Path), amsClientStats.FindStringSubmatch(r.URL.Path)
	if list == nil && stats == nil {
		return false
	}
	app := append(list, stats...)[1]
	if !amsAppDeployed(e, app) {
		// No webapp has the context path /<app>.
		amsTomcatError(w, http.StatusNotFound, "The requested resource ["+r.URL.Path+"] is not available")
		return true
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if host != "127.0.0.1" {
		// RestProxyFilter / IPFilter: not in remoteAllowedCIDR and no token.
		amsTomcatError(w, http.StatusForbidden, "Not allowed IP")
		return true
	}
	if r.Method != http.MethodGet {
		amsTomcatError(w, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
		return true
	}
	streams := s.streamsAt(e.Now())
	page := func(n int, offset, size string) (int, int) {
		o, _ := strconv.Atoi(offset)
		z, _ := strconv.Atoi(size)
		if z > 50 {
			z = 50 // the list endpoints return at most 50 items
		}
		if o > n {
			o = n
		}
		return o, min(n, o+z)
	}
	if list != nil {
		var out []map[string]any
		for _, st := range streams {
			if st.App != list[1] {
				continue
			}
			origin := "10.20.0.250" // another origin of the cluster
			if st.Publisher {
				origin = e.Node.PrivateIP
			}
			out = append(out, map[string]any{
				"streamId": st.ID, "status": "broadcasting", "originAdress": origin,
				"webRTCViewerCount": st.WebRTCViewers, "hlsViewerCount": st.HLSViewers, "rtmpViewerCount": 0, "dashViewerCount": 0,
			})
		}
		from, to := page(len(out), list[2], list[3])
		amsWriteJSON(w, http.StatusOK, append([]map[string]any{}, out[from:to]...))
		return true
	}
	var players []map[string]any
	for _, st := range streams {
		if st.App == stats[1] && st.ID == stats[2] {
			for i := 0; i < st.WebRTCViewers; i++ {
				players = append(players, map[string]any{"clientId": i + 1, "measuredBitrate": 1500000, "sendBitrate": 1500000})
			}
		}
	}
	from, to := page(len(players), stats[3], stats[4])
	amsWriteJSON(w, http.StatusOK, append([]map[string]any{}, players[from:to]...))
	return true
}

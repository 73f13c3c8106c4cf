package machine

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
)

// Activity counts the work of a model in the test process, for a world
// whose clock moves only while nothing works (sandbox.World.ShareClock).
type Activity interface {
	// Begin counts one piece of work that has started.
	Begin()
	// End ends what Begin counted.
	End()
}

// Gate holds the Activity a model's server reports its requests to; the
// zero Gate reports to none.
type Gate struct {
	mu    sync.Mutex
	a     Activity
	conns map[net.Conn]Activity // connections with a request in hand
}

// Set makes the gate report to a.
func (g *Gate) Set(a Activity) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.a = a
}

func (g *Gate) activity() Activity {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.a
}

// Wrap is h counting each request it answers as work.
func (g *Gate) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := g.activity(); a != nil {
			a.Begin()
			defer a.End()
		}
		h.ServeHTTP(w, r)
	})
}

// Serve starts a server of h that counts as work each request from its
// first byte read until its answer is written out (net/http ConnState:
// StateActive until StateIdle, StateHijacked or StateClosed): the handler
// returns before the server writes the answer, and its caller waits for
// the answer looking idle. The caller closes the server.
func (g *Gate) Serve(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(g.Wrap(h))
	srv.Config.ConnState = g.connState
	srv.Start()
	return srv
}

func (g *Gate) connState(c net.Conn, state http.ConnState) {
	g.mu.Lock()
	var ended Activity
	switch state {
	case http.StateActive:
		if _, ok := g.conns[c]; !ok && g.a != nil {
			if g.conns == nil {
				g.conns = map[net.Conn]Activity{}
			}
			g.conns[c] = g.a
			g.a.Begin()
		}
	case http.StateIdle, http.StateHijacked, http.StateClosed:
		ended = g.conns[c]
		delete(g.conns, c)
	}
	g.mu.Unlock()
	if ended != nil {
		ended.End()
	}
}

package machine

import (
	"net/http"
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
	mu sync.Mutex
	a  Activity
}

// Set makes the gate report to a.
func (g *Gate) Set(a Activity) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.a = a
}

// Wrap is h counting each request it answers as work.
func (g *Gate) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		a := g.a
		g.mu.Unlock()
		if a != nil {
			a.Begin()
			defer a.End()
		}
		h.ServeHTTP(w, r)
	})
}

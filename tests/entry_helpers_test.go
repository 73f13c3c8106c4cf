package tests

import "testing"

// alb returns the stack's application load balancer.
func (r *run) alb(t *testing.T) *registered {
	t.Helper()
	return r.loadBalancer(t, "application")
}

// nlb returns the stack's network (ingest) load balancer.
func (r *run) nlb(t *testing.T) *registered {
	t.Helper()
	return r.loadBalancer(t, "network")
}

func (r *run) loadBalancer(t *testing.T, kind string) *registered {
	t.Helper()
	var found []*registered
	for _, lb := range r.ofType("aws:lb/loadBalancer:LoadBalancer") {
		if lb.str("loadBalancerType") == kind {
			found = append(found, lb)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s load balancer, found %d", kind, len(found))
	}
	return found[0]
}

// albTargetGroups are the HTTP target groups of the application load balancer.
func (r *run) albTargetGroups() []*registered {
	var out []*registered
	for _, tg := range r.ofType("aws:lb/targetGroup:TargetGroup") {
		if tg.str("protocol") == "HTTP" {
			out = append(out, tg)
		}
	}
	return out
}

package components

import (
	"strings"
	"testing"
)

// A role other than origin and edge has no target group and no scaling
// group: asking for one fails instead of quietly meaning origin.
func TestUnknownRoleIsRefused(t *testing.T) {
	lb := &StreamingLoadBalancer{}
	for _, role := range Roles() {
		if _, err := lb.TargetGroupArn(role); err != nil {
			t.Errorf("TargetGroupArn(%q): %v", role, err)
		}
	}
	for _, role := range []Role{"", "Origin", "viewer"} {
		if role.Valid() {
			t.Errorf("%q is a valid role", role)
		}
		if _, err := lb.TargetGroupArn(role); err == nil || !strings.Contains(err.Error(), `"origin" and "edge"`) {
			t.Errorf("TargetGroupArn(%q) = %v, want an error naming the roles", role, err)
		}
		if got := fields((&ScalingGroupArgs{Role: role}).Validate()); len(got) == 0 || got[0] != "Role" {
			t.Errorf("ScalingGroup with role %q: rejected fields %v, want Role first", role, got)
		}
	}
}

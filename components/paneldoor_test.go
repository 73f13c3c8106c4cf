package components

import (
	"slices"
	"strings"
	"testing"
)

// Every run of patterns fits in one ALB rule, and together they are the
// patterns in their order.
func TestPatternRulesFitInOneRuleEach(t *testing.T) {
	for _, patterns := range [][]string{InitialUserPathPatterns(), DotSegmentPathPatterns(), ApplicationPathPatterns([]string{"A", "B", "C", "D"})} {
		var all []string
		for _, run := range PatternRules(patterns) {
			wild := 0
			for _, p := range run {
				wild += strings.Count(p, "*") + strings.Count(p, "?")
			}
			if len(run) > albValuesPerRule || wild > albWildcardsPerRule {
				t.Errorf("run %q: %d values, %d wildcards; a rule takes %d and %d", run, len(run), wild, albValuesPerRule, albWildcardsPerRule)
			}
			all = append(all, run...)
		}
		if !slices.Equal(all, patterns) {
			t.Errorf("runs %q are not the patterns %q", all, patterns)
		}
	}
}

// A value with a control character never reaches a boot script, whatever
// the component's own checks let through.
func TestRenderScriptRefusesControlCharacters(t *testing.T) {
	for _, v := range []string{"a@example.com\nNODE\nreboot", "a\x00b", "a\rb", "a\tb"} {
		_, err := renderScript("ams-bootstrap.sh", AMSBootstrap{Role: RoleOrigin, PanelAdminEmail: v})
		if err == nil || !strings.Contains(err.Error(), "PanelAdminEmail holds a control character") {
			t.Errorf("PanelAdminEmail %q: %v, want a refusal naming the field", v, err)
		}
	}
	_, err := renderScript("mongo-bootstrap.sh", MongoBootstrap{Replica: &MongoReplicaMember{SetName: "rs0\n"}})
	if err == nil || !strings.Contains(err.Error(), "Replica.SetName") {
		t.Errorf("a nested value with a newline: %v", err)
	}
}

// DefaultedFields names the fields whose 0 means the default, not those
// whose 0 is a value of its own.
func TestDefaultedFields(t *testing.T) {
	got := DefaultedFields(&ScalingGroupArgs{})
	for _, want := range []string{"CPUTargetPercent", "DrainSeconds", "MaxSize"} {
		if !slices.Contains(got, want) {
			t.Errorf("%s is not among %v", want, got)
		}
	}
	for _, not := range []string{"WarmPoolSize", "ViewersPerNode"} {
		if slices.Contains(got, not) {
			t.Errorf("%s is among %v, but 0 is a value of its own", not, got)
		}
	}
	if got := DefaultedFields(&ScalingGroupArgs{CPUTargetPercent: 50}); slices.Contains(got, "CPUTargetPercent") {
		t.Errorf("a set field is reported: %v", got)
	}
}

// Instance types: the names AWS gives, not anything with a dot.
func TestInstanceTypeNames(t *testing.T) {
	for _, ok := range []string{"m5.xlarge", "c5.2xlarge", "c7i.48xlarge", "m7i-flex.large", "t3.micro", "r6id.metal", "u-6tb1.metal", "g4dn.xlarge", "c6gn.large", "x2iedn.metal-32xl"} {
		if !isInstanceType(ok) {
			t.Errorf("%s refused", ok)
		}
	}
	for _, bad := range []string{"foo.bar", "m5.huge", "m5", "M5.large", "m5.xlarge ", "m5..large", "5m.large"} {
		if isInstanceType(bad) {
			t.Errorf("%s accepted", bad)
		}
	}
	for typ, arch := range map[string]string{"c7g.xlarge": "arm64", "a1.large": "arm64", "c5.xlarge": "amd64", "g4dn.xlarge": "amd64"} {
		if got := architectureOf(typ); got != arch {
			t.Errorf("architectureOf(%s) = %s, want %s", typ, got, arch)
		}
	}
}

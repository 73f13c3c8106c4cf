package tests

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

// TestPlan prints what `pulumi up` would build for a stack, from the real
// program under the AWS-like mocks: the resources by component, the
// public entry points and the stack outputs. It is the README's first
// command: `go test ./tests -run TestPlan -v` (AMS_STACK=prod for the
// production file). It also fails when the plan is empty or incomplete.
func TestPlan(t *testing.T) {
	stackFile := "Pulumi.dev.yaml"
	if s := os.Getenv("AMS_STACK"); s != "" {
		stackFile = "Pulumi." + s + ".yaml"
	}
	overrides := map[string]string{}
	if stackFile == "Pulumi.prod.yaml" {
		// The production file refuses to build without HTTPS: plan it with an example domain.
		overrides = map[string]string{"domainName": "live.example.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ"}
	}
	r := runProgram(t, stackConfig(t, stackFile, overrides))
	if r.err != nil {
		t.Fatalf("%s: the program stops before building anything:\n%v", stackFile, r.err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s: %d resources\n", stackFile, len(r.resources))
	children := map[string][]*registered{}
	for _, res := range r.resources {
		children[res.Parent] = append(children[res.Parent], res)
	}
	var components []*registered
	for _, res := range r.resources {
		if !res.Custom {
			components = append(components, res)
		}
	}
	sort.Slice(components, func(i, j int) bool { return components[i].Name < components[j].Name })
	for _, c := range components {
		counts := map[string]int{}
		for _, ch := range children[c.URN] {
			counts[strings.TrimPrefix(ch.Type, "aws:")]++
		}
		fmt.Fprintf(&b, "  %s %s\n", c.Type, c.Name)
		for _, typ := range keys(counts) {
			fmt.Fprintf(&b, "      %2d × %s\n", counts[typ], typ)
		}
	}
	fmt.Fprintf(&b, "\nentry points:\n")
	for _, l := range r.ofType("aws:lb/listener:Listener") {
		action := l.str("defaultActions.0.type")
		target := l.str("defaultActions.0.redirect.port")
		if tg := l.str("defaultActions.0.targetGroupArn"); tg != "" {
			target = roleOfTargetGroup(t, r, tg)
		}
		fmt.Fprintf(&b, "  %-5s %-5s %s -> %s\n", l.str("protocol"), l.str("port"), action, target)
	}
	fmt.Fprintf(&b, "\noutputs:\n")
	for _, name := range keys(r.outputs) {
		v := fmt.Sprint(r.outputs[name].Value)
		if r.outputs[name].Secret {
			v = "[secret]"
		}
		fmt.Fprintf(&b, "  %-28s %s\n", name, v)
	}
	t.Log(b.String())
	if len(components) < 5 || len(r.ofType("aws:lb/listener:Listener")) == 0 || r.outputs["publishUrl"].Value == nil {
		t.Errorf("the plan lacks components, listeners or the publish URL")
	}
}

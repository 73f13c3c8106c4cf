// Package impact tells what a configuration change does to a deployed
// stack before anyone runs `pulumi up`: it runs the stack program twice
// under the AWS-like mocks (internal/mockaws), with the configuration before
// and after the change, matches the resources by URN and compares their
// inputs against the provider's replace-on-change fields (Rules). A replaced
// resource's ID and outputs change, so whatever references them in a
// replace-on-change field is replaced in turn.
//
// cmd/plan -diff prints it for one change; the change-impact table
// (docs/change-impact.md) is it for every configuration key.
package impact

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Kind is what happens to one resource.
type Kind string

// The kinds of change, from the gentlest.
const (
	Update  Kind = "updates"
	Refresh Kind = "refreshes"
	Restart Kind = "restarts"
	Create  Kind = "creates"
	Replace Kind = "replaces"
	Delete  Kind = "deletes"
)

// Effect is what a change does to one resource.
type Effect struct {
	Kind Kind
	// Type and Name identify the resource.
	Type, Name string
	// Fields are the inputs that cause it (for a replacement, the
	// replace-on-change fields; for a refresh, the launch template).
	Fields []string
	// Stateful is the Rule's Stateful label, when the resource holds state.
	Stateful string
}

// String is the effect as one line.
func (e Effect) String() string {
	what := e.Type
	if e.Stateful != "" {
		what = e.Stateful
	}
	s := fmt.Sprintf("%s %s %s", e.Kind, what, e.Name)
	if len(e.Fields) > 0 {
		s += " (" + strings.Join(e.Fields, ", ") + ")"
	}
	return s
}

// Loses reports whether the effect takes a stateful resource away or down:
// a replacement, a deletion or a restart of a MongoDB member, its volume
// or interface, or a subnet.
func (e Effect) Loses() bool {
	return e.Stateful != "" && (e.Kind == Replace || e.Kind == Delete || e.Kind == Restart)
}

// Compare lists what changes between two runs of the program: the
// resources of after that are new, replaced, restarted, refreshed or
// updated, and those of before that are gone. Unchanged resources are not
// listed. Effects are sorted by kind (most severe first), then name.
func Compare(before, after *mockaws.Result) []Effect {
	old := map[string]*mockaws.Resource{}
	for _, r := range before.Resources {
		if r.Custom {
			old[r.URN] = r
		}
	}
	kinds := map[string]*Effect{}
	var order []string
	for _, r := range after.Resources {
		if !r.Custom {
			continue
		}
		o, ok := old[r.URN]
		if !ok {
			kinds[r.URN] = &Effect{Kind: Create, Type: r.Type, Name: r.Name, Stateful: stateful(r.Type)}
			order = append(order, r.URN)
			continue
		}
		if e := diff(o, r); e != nil {
			kinds[r.URN] = e
			order = append(order, r.URN)
		}
	}
	propagate(after, old, kinds, &order)
	refreshGroups(after, kinds, &order)
	var out []Effect
	for _, urn := range order {
		out = append(out, *kinds[urn])
	}
	seen := map[string]bool{}
	for _, r := range after.Resources {
		seen[r.URN] = true
	}
	for _, r := range before.Resources {
		if r.Custom && !seen[r.URN] {
			e := Effect{Kind: Delete, Type: r.Type, Name: r.Name, Stateful: stateful(r.Type)}
			if r.Protect {
				e.Fields = append(e.Fields, "protected: `pulumi up` stops until it is unprotected")
			}
			if r.RetainOnDelete {
				e.Fields = append(e.Fields, "kept in AWS, dropped from the stack")
			}
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := severity(out[i].Kind), severity(out[j].Kind); a != b {
			return a > b
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Type < out[j].Type
	})
	return out
}

func severity(k Kind) int {
	return slices.Index([]Kind{Update, Refresh, Create, Restart, Replace, Delete}, k)
}

func stateful(typ string) string {
	if r := rule(typ); r != nil {
		return r.Stateful
	}
	return ""
}

// diff is the effect of changing o's inputs to r's, or nil. Inputs the
// resource ignores (ignoreChanges) keep their old values, as the engine
// keeps them.
func diff(o, r *mockaws.Resource) *Effect {
	var changed []string
	for _, k := range inputKeys(o, r) {
		if slices.Contains(r.IgnoreChanges, k) {
			continue
		}
		if plain(o.Inputs[resource.PropertyKey(k)]) != plain(r.Inputs[resource.PropertyKey(k)]) {
			changed = append(changed, k)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	e := &Effect{Kind: Update, Type: r.Type, Name: r.Name, Fields: changed, Stateful: stateful(r.Type)}
	if ru := rule(r.Type); ru != nil {
		if f := intersect(changed, ru.Replace); len(f) > 0 {
			e.Kind, e.Fields = Replace, f
		} else if f := intersect(changed, ru.Restart); len(f) > 0 {
			e.Kind, e.Fields = Restart, f
		}
	}
	return e
}

// propagate replaces, updates or restarts the resources that reference a
// replaced resource's ID or outputs (which change with it), until nothing
// more changes.
func propagate(after *mockaws.Result, old map[string]*mockaws.Resource, kinds map[string]*Effect, order *[]string) {
	for changed := true; changed; {
		changed = false
		var replaced []*mockaws.Resource
		for _, r := range after.Resources {
			if e := kinds[r.URN]; e != nil && e.Kind == Replace {
				replaced = append(replaced, r)
			}
		}
		for _, r := range after.Resources {
			if !r.Custom || old[r.URN] == nil {
				continue
			}
			e := kinds[r.URN]
			if e != nil && (e.Kind == Replace || e.Kind == Create) {
				continue
			}
			for _, dep := range replaced {
				if dep == r {
					continue
				}
				fields := referencing(r, dep)
				if len(fields) == 0 {
					continue
				}
				if e == nil {
					e = &Effect{Kind: Update, Type: r.Type, Name: r.Name, Stateful: stateful(r.Type)}
					kinds[r.URN] = e
					*order = append(*order, r.URN)
					changed = true
				}
				note := "new " + short(dep.Type)
				if ru := rule(r.Type); ru != nil && len(intersect(fields, ru.Replace)) > 0 {
					e.Kind, e.Fields, changed = Replace, []string{note + " in " + strings.Join(intersect(fields, ru.Replace), ", ")}, true
					break
				} else if ru != nil && len(intersect(fields, ru.Restart)) > 0 && e.Kind == Update {
					e.Kind, changed = Restart, true
				}
				if !slices.Contains(e.Fields, note) && e.Kind != Replace {
					e.Fields = append(e.Fields, note)
				}
			}
		}
	}
}

// refreshGroups marks the Auto Scaling groups whose launch template changed:
// the new version rolls through the group as an instance refresh.
func refreshGroups(after *mockaws.Result, kinds map[string]*Effect, order *[]string) {
	for _, lt := range after.OfType("aws:ec2/launchTemplate:LaunchTemplate") {
		e := kinds[lt.URN]
		if e == nil || e.Kind == Create {
			continue
		}
		for _, g := range after.OfType("aws:autoscaling/group:Group") {
			if g.Str("launchTemplate.id") != lt.ID {
				continue
			}
			ge := kinds[g.URN]
			if ge == nil {
				ge = &Effect{Type: g.Type, Name: g.Name}
				kinds[g.URN] = ge
				*order = append(*order, g.URN)
			}
			if severity(ge.Kind) < severity(Refresh) {
				ge.Kind, ge.Stateful = Refresh, "node group (instance refresh)"
				ge.Fields = append(ge.Fields, "launch template: "+strings.Join(e.Fields, ", "))
			}
		}
	}
}

// referencing lists r's top-level inputs that hold dep's ID or one of
// dep's string outputs (an ARN, an address).
func referencing(r, dep *mockaws.Resource) []string {
	values := []string{}
	if dep.ID != "" {
		values = append(values, dep.ID)
	}
	for _, k := range []string{"arn", "privateIp", "publicIp", "keyName", "name"} {
		if v := dep.StateStr(k); len(v) > 8 {
			values = append(values, v)
		}
	}
	// A value the program chose (a fixed name) survives the replacement.
	values = slices.DeleteFunc(values, func(v string) bool {
		for _, in := range dep.Inputs {
			if in := mockaws.Unsecret(in); in.IsString() && in.StringValue() == v {
				return true
			}
		}
		return false
	})
	var out []string
	for k, v := range r.Inputs {
		text := plain(v)
		for _, want := range values {
			if strings.Contains(text, want) {
				out = append(out, string(k))
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

func inputKeys(a, b *mockaws.Resource) []string {
	set := map[string]bool{}
	for k := range a.Inputs {
		set[string(k)] = true
	}
	for k := range b.Inputs {
		set[string(k)] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// plain renders a property value without its secret wrappings, for comparison.
func plain(v resource.PropertyValue) string {
	v = mockaws.Unsecret(v)
	switch {
	case v.IsObject():
		m := v.ObjectValue()
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, string(k))
		}
		sort.Strings(keys)
		var b strings.Builder
		b.WriteString("{")
		for _, k := range keys {
			fmt.Fprintf(&b, "%q:%s,", k, plain(m[resource.PropertyKey(k)]))
		}
		return b.String() + "}"
	case v.IsArray():
		var b strings.Builder
		b.WriteString("[")
		for _, e := range v.ArrayValue() {
			b.WriteString(plain(e) + ",")
		}
		return b.String() + "]"
	case v.IsNull():
		return "null"
	case v.IsComputed() || v.IsOutput():
		return "<unknown>"
	}
	return fmt.Sprintf("%q", fmt.Sprint(v.V))
}

// short is a type token's resource name ("aws:ec2/instance:Instance" -> "Instance").
func short(typ string) string {
	return typ[strings.LastIndex(typ, ":")+1:]
}

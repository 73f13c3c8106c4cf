package mockaws

import (
	"fmt"
	"sort"

	"github.com/ams-cluster/ams-aws/internal/stack"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// Result is one execution of a program under the mocks.
type Result struct {
	// Resources are the registered resources, in registration order.
	Resources []*Resource
	Calls     []pulumi.MockCallArgs
	// Outputs are the stack outputs, resolved.
	Outputs   map[string]internals.UnsafeAwaitOutputResult
	Passwords []string
	// Err is the program's error: what `pulumi up` would stop with.
	Err error
}

// Program is a stack program that exports its outputs through export, as
// internal/stack.Run does.
type Program func(ctx *pulumi.Context, export func(name string, value pulumi.Input)) error

// Run runs program as stack stackName of project with configuration cfg
// (namespaced keys, "ams-cluster:x") of which secretKeys are secrets.
func Run(m *Mocks, project, stackName string, program Program, cfg map[string]string, secretKeys []string) *Result {
	m.mu.Lock()
	m.project, m.stack = project, stackName
	m.mu.Unlock()
	out := &Result{Outputs: map[string]internals.UnsafeAwaitOutputResult{}}
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		exported := map[string]pulumi.Output{}
		if err := program(ctx, func(name string, value pulumi.Input) { exported[name] = pulumi.ToOutput(value) }); err != nil {
			return err
		}
		for name, o := range exported {
			res, err := internals.UnsafeAwaitOutput(ctx.Context(), o)
			if err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			out.Outputs[name] = res
		}
		return nil
	}, pulumi.WithMocks(project, stackName, m), func(info *pulumi.RunInfo) {
		info.Config = cfg
		info.ConfigSecretKeys = secretKeys
	})
	out.Resources, out.Calls, out.Passwords, out.Err = m.Registered(), m.Calls(), m.Passwords(), err
	return out
}

// RunStack runs the stack program exactly as main.go does (internal/stack.Run),
// as stack stackName of the project.
func RunStack(m *Mocks, stackName string, cfg map[string]string, secretKeys []string) *Result {
	return Run(m, Project, stackName, stack.Run, cfg, secretKeys)
}

// OfType lists the resources of one type token, sorted by name.
func (r *Result) OfType(typ string) []*Resource {
	var out []*Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// ByID is the resource with that physical ID, or nil.
func (r *Result) ByID(id string) *Resource {
	return r.find(func(res *Resource) bool { return res.ID == id })
}

// ByArn is the resource whose "arn" output is arn, or nil.
func (r *Result) ByArn(arn string) *Resource {
	return r.find(func(res *Resource) bool { return res.StateStr("arn") == arn })
}

// ByURN is the resource with that URN, or nil.
func (r *Result) ByURN(urn string) *Resource {
	return r.find(func(res *Resource) bool { return res.URN == urn })
}

func (r *Result) find(match func(*Resource) bool) *Resource {
	for _, res := range r.Resources {
		if match(res) {
			return res
		}
	}
	return nil
}

// Tag is the value of a resource's tag key, from either tag shape: a map
// ("tags") or the Auto Scaling group's list of {key, value}.
func (r *Resource) Tag(key string) string {
	if v := r.Str("tags." + key); v != "" {
		return v
	}
	tags := Unsecret(r.Input("tags"))
	if !tags.IsArray() {
		return ""
	}
	for _, tag := range tags.ArrayValue() {
		o := Unsecret(tag).ObjectValue()
		if text(o["key"]) == key {
			return text(o["value"])
		}
	}
	return ""
}

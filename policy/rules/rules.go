// Package rules holds the AMS cluster's policy rules, written once as pure
// functions over a small view of one resource. The policy pack in the parent
// directory serves them to `pulumi preview --policy-pack policy`; the tests
// apply the same functions to the resources the stack registers under mocks.
//
// Rules see through secrets: a secret string is still a string to inspect,
// but no message ever prints a secret value. A value that is unknown during
// a preview (an output of a resource not created yet) is skipped; `pulumi up`
// analyzes every resource again with its final inputs.
package rules

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// Resource is what a rule sees of one resource.
type Resource struct {
	// Type is the resource's type token, e.g. "aws:ebs/volume:Volume".
	Type string
	// Name is the resource's logical name.
	Name string
	// Properties are the resource's inputs.
	Properties property.Map
	// Protect is the resource's protect option.
	Protect bool
}

// Rule is one policy.
type Rule struct {
	// Name is the rule's kebab-case name, also the policy's name in the pack.
	Name string
	// Description says what the rule requires, in one sentence.
	Description string
	// Types are the resource types the rule inspects; Check finds nothing
	// wrong with any other type.
	Types []string
	// Check returns one message per violation, empty when the resource
	// complies. Every message names the resource, the property and the
	// offending value (secret values print as [secret]).
	Check func(Resource) []string
}

// Names of the rules.
const (
	NoPublicIngress             = "no-public-ingress"
	EncryptedVolumes            = "encrypted-volumes"
	IMDSv2Required              = "imdsv2-required"
	NoPlaintextSecretInUserData = "no-plaintext-secret-in-user-data"
	StatefulResourcesProtected  = "stateful-resources-protected"
)

// Type tokens the rules inspect.
const (
	typeSecurityGroupIngressRule = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
	typeSecurityGroupRule        = "aws:ec2/securityGroupRule:SecurityGroupRule"
	typeSecurityGroup            = "aws:ec2/securityGroup:SecurityGroup"
	typeVolume                   = "aws:ebs/volume:Volume"
	typeInstance                 = "aws:ec2/instance:Instance"
	typeLaunchTemplate           = "aws:ec2/launchTemplate:LaunchTemplate"
)

// All returns every rule for a stack with the default settings, in a
// stable order.
func All() []Rule { return AllFor(DefaultPorts()) }

// AllFor returns every rule for a stack whose public ports follow p.
func AllFor(p Ports) []Rule {
	return []Rule{
		noPublicIngress(PublicPortsFor(p)),
		encryptedVolumes(),
		imdsv2Required(),
		noPlaintextSecretInUserData(),
		statefulResourcesProtected(),
	}
}

// ByName returns the rule called name.
func ByName(name string) (Rule, bool) {
	for _, r := range All() {
		if r.Name == name {
			return r, true
		}
	}
	return Rule{}, false
}

// FromPropertyMap converts the engine's resource.PropertyMap, as the Go SDK's
// mocks and the analyzer protocol produce it, into the property.Map rules
// read. Secrets stay marked secret; unknown values become property.Computed.
func FromPropertyMap(m resource.PropertyMap) property.Map {
	return resource.FromResourcePropertyMap(m)
}

// check is a rule's check of one resource type.
type check func(Resource) []string

// newRule builds a rule that dispatches on the resource type, so that Types
// and Check cannot disagree.
func newRule(name, description string, checks map[string]check) Rule {
	return Rule{
		Name:        name,
		Description: description,
		Types:       slices.Sorted(maps.Keys(checks)),
		Check: func(r Resource) []string {
			if c, ok := checks[r.Type]; ok {
				return c(r)
			}
			return nil
		},
	}
}

// violation formats a message about r.
func (r Resource) violation(format string, args ...any) string {
	return fmt.Sprintf("%s %q: ", r.Type, r.Name) + fmt.Sprintf(format, args...)
}

// get follows map keys from m; a missing key or a non-map on the way gives
// a null value. Secrets on the way are seen through.
func get(m property.Map, path ...string) property.Value {
	v := property.New(m)
	for _, k := range path {
		if !v.IsMap() {
			return property.Value{}
		}
		v = v.AsMap().Get(k)
	}
	return v
}

// elements returns the elements of an array value, nil for anything else.
func elements(v property.Value) []property.Value {
	if !v.IsArray() {
		return nil
	}
	return v.AsArray().AsSlice()
}

// str returns a string value.
func str(v property.Value) (string, bool) {
	if v.IsString() {
		return v.AsString(), true
	}
	return "", false
}

// number returns a number value, also from a numeric string.
func number(v property.Value) (float64, bool) {
	switch {
	case v.IsNumber():
		return v.AsNumber(), true
	case v.IsString():
		f, err := strconv.ParseFloat(v.AsString(), 64)
		return f, err == nil
	}
	return 0, false
}

// isTrue reports whether v is the boolean true or the string "true" (the
// launch template schema types its flags as strings).
func isTrue(v property.Value) bool {
	switch {
	case v.IsBool():
		return v.AsBool()
	case v.IsString():
		b, err := strconv.ParseBool(v.AsString())
		return err == nil && b
	}
	return false
}

// show renders a value for a message without ever revealing a secret.
func show(v property.Value) string {
	switch {
	case v.Secret() || v.HasSecrets():
		return "[secret]"
	case v.IsComputed():
		return "[unknown]"
	case v.IsNull():
		return "unset"
	case v.IsString():
		return strconv.Quote(v.AsString())
	case v.IsNumber():
		return strconv.FormatFloat(v.AsNumber(), 'f', -1, 64)
	case v.IsBool():
		return strconv.FormatBool(v.AsBool())
	case v.IsArray():
		return fmt.Sprintf("a list of %d", v.AsArray().Len())
	case v.IsMap():
		return fmt.Sprintf("an object of %d keys", v.AsMap().Len())
	}
	return fmt.Sprintf("%#v", v)
}

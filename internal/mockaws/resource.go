package mockaws

import (
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Resource is one resource the program registered, as the engine saw it.
type Resource struct {
	Type, Name, URN, ID string
	// Custom is false for component resources.
	Custom bool
	// Inputs are what the program asked for; State is what the mock answered.
	Inputs, State       resource.PropertyMap
	Parent              string
	Protect             bool
	RetainOnDelete      bool
	DeleteBeforeReplace bool
	IgnoreChanges       []string
	Dependencies        []string
	SecretOutputs       []string
	// AliasNames are the names of the resource's aliases (its former names).
	AliasNames []string
}

// Input returns an input by dotted path ("healthCheck.path", "tags.0.key"),
// or a null value.
func (r *Resource) Input(path string) resource.PropertyValue {
	return Lookup(resource.NewProperty(r.Inputs), path)
}

// Str is the input at path as text (numbers and booleans formatted), or "".
func (r *Resource) Str(path string) string { return text(r.Input(path)) }

// Num is the input at path as a number, or -1.
func (r *Resource) Num(path string) float64 {
	if v := Unsecret(r.Input(path)); v.IsNumber() {
		return v.NumberValue()
	}
	return -1
}

// StateStr is the output at path as text, or "".
func (r *Resource) StateStr(path string) string {
	return text(Lookup(resource.NewProperty(r.State), path))
}

func text(v resource.PropertyValue) string {
	v = Unsecret(v)
	switch {
	case v.IsString():
		return v.StringValue()
	case v.IsNumber():
		return strconv.FormatFloat(v.NumberValue(), 'f', -1, 64)
	case v.IsBool():
		return strconv.FormatBool(v.BoolValue())
	}
	return ""
}

// Lookup follows a dotted path of object keys and array indexes into v; it
// sees through secrets and returns a null value where the path ends.
func Lookup(v resource.PropertyValue, path string) resource.PropertyValue {
	for _, part := range strings.Split(path, ".") {
		v = Unsecret(v)
		switch {
		case v.IsObject():
			v = v.ObjectValue()[resource.PropertyKey(part)]
		case v.IsArray():
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(v.ArrayValue()) {
				return resource.NewNullProperty()
			}
			v = v.ArrayValue()[i]
		default:
			return resource.NewNullProperty()
		}
	}
	return v
}

// Unsecret is v without its secret wrappings.
func Unsecret(v resource.PropertyValue) resource.PropertyValue {
	for v.IsSecret() {
		v = v.SecretValue().Element
	}
	return v
}

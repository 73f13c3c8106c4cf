// Package settings reads the stack's configuration schema, the config:
// section of Pulumi.yaml, and renders the README's configuration table from
// it, so that the table cannot drift from the schema.
//
// Pulumi.yaml states each key's type, default and meaning; the components'
// argument checks state the accepted values (ranges, lists), and a bad value
// is reported with the component's words. Descriptions therefore do not
// repeat ranges (CheckDescriptions enforces it).
package settings

import (
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Key is one configuration key of the schema.
type Key struct {
	Name string
	// Type is string, integer, boolean or array.
	Type string
	// Items is the element type of an array.
	Items       string
	Description string
	// Default is the default as written in Pulumi.yaml (YAML flow style).
	Default string
}

// TypeName is the key's type as the README shows it: "array of string" for arrays.
func (k Key) TypeName() string {
	if k.Type == "array" && k.Items != "" {
		return "array of " + k.Items
	}
	return k.Type
}

// Parse reads the config: schema of a Pulumi project file, keys in file order.
func Parse(project []byte) ([]Key, error) {
	var doc struct {
		Config yaml.Node `yaml:"config"`
	}
	if err := yaml.Unmarshal(project, &doc); err != nil {
		return nil, fmt.Errorf("parse project file: %w", err)
	}
	if doc.Config.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("project file has no config: mapping")
	}
	var keys []Key
	for i := 0; i+1 < len(doc.Config.Content); i += 2 {
		name, spec := doc.Config.Content[i].Value, doc.Config.Content[i+1]
		var decl struct {
			Type        string    `yaml:"type"`
			Description string    `yaml:"description"`
			Default     yaml.Node `yaml:"default"`
			Items       struct {
				Type string `yaml:"type"`
			} `yaml:"items"`
		}
		if err := spec.Decode(&decl); err != nil {
			return nil, fmt.Errorf("config key %s: %w", name, err)
		}
		def, err := flow(&decl.Default)
		if err != nil {
			return nil, fmt.Errorf("config key %s: default: %w", name, err)
		}
		keys = append(keys, Key{Name: name, Type: decl.Type, Items: decl.Items.Type, Description: decl.Description, Default: def})
	}
	return keys, nil
}

// flow renders a YAML value on one line as written: "" for an empty string,
// [] for an empty list.
func flow(n *yaml.Node) (string, error) {
	switch n.Kind {
	case 0:
		return "", nil
	case yaml.ScalarNode:
		if n.Tag == "!!str" && n.Value == "" {
			return `""`, nil
		}
		return n.Value, nil
	}
	n.Style = yaml.FlowStyle
	out, err := yaml.Marshal(n)
	return strings.TrimSpace(string(out)), err
}

// Table renders the README's configuration table: one row per key, in
// schema order, with its type, default and description.
func Table(keys []Key) string {
	var b strings.Builder
	b.WriteString("| Key | Type | Default | Meaning |\n|---|---|---|---|\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s |\n", k.Name, k.TypeName(), k.Default, strings.ReplaceAll(k.Description, "|", `\|`))
	}
	return b.String()
}

// Markers delimit the generated table in the README.
const (
	TableStart = "<!-- config-table: generated from Pulumi.yaml; go test ./internal/settings -update rewrites it -->"
	TableEnd   = "<!-- end config-table -->"
)

// ReplaceTable returns readme with the text between the table markers
// replaced by table.
func ReplaceTable(readme, table string) (string, error) {
	start := strings.Index(readme, TableStart)
	end := strings.Index(readme, TableEnd)
	if start < 0 || end < start {
		return "", fmt.Errorf("README has no %q ... %q section", TableStart, TableEnd)
	}
	return readme[:start+len(TableStart)] + "\n" + table + readme[end:], nil
}

// rangePattern finds accepted values stated in a description: "2 to 6",
// "/16 to /24", "one of 1, 2".
var rangePattern = regexp.MustCompile(`/?\b\d+ to /?\d+\b|\bone of \d`)

// CheckDescriptions reports every description that states a range or a list
// of accepted values: those belong to the component's check alone.
func CheckDescriptions(keys []Key) []string {
	var out []string
	for _, k := range keys {
		if m := rangePattern.FindString(k.Description); m != "" {
			out = append(out, fmt.Sprintf("%s: description states accepted values (%q); the component's check is the one place for them", k.Name, m))
		}
	}
	return out
}

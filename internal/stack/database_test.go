package stack

import (
	"fmt"
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestMongoKeyDefaultsAreTheSchemas: databaseUrlParameter tells a MongoDB
// key the stack set from one the CLI filled in by its Pulumi.yaml default.
func TestMongoKeyDefaultsAreTheSchemas(t *testing.T) {
	b, err := os.ReadFile("../../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Config map[string]struct {
			Default any `yaml:"default"`
		} `yaml:"config"`
	}
	if err := yaml.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	for _, k := range mongoKeys {
		decl, ok := p.Config[k.key]
		if !ok {
			if k.key == "mongoMembers" {
				continue // declared by the replica-set change
			}
			t.Errorf("Pulumi.yaml does not declare %s", k.key)
			continue
		}
		if got := fmt.Sprint(decl.Default); got != k.def {
			t.Errorf("%s: Pulumi.yaml default %q, databaseUrlParameter's check assumes %q", k.key, got, k.def)
		}
	}
}

package stack

import (
	"os"
	"slices"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/settings"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

type noResources struct{}

func (noResources) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	return args.Name + "-id", args.Inputs, nil
}

func (noResources) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return resource.PropertyMap{}, nil
}

// Every key Pulumi.yaml declares is read by the program, and every key the
// program reads is declared: no setting is documented but ignored, or read
// but missing from the schema (and so from the README's table).
func TestEveryDeclaredKeyIsReadAndEveryReadKeyDeclared(t *testing.T) {
	raw, err := os.ReadFile("../../Pulumi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := settings.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	read := map[string]bool{}
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := loadConfig(ctx, read)
		return err
	}, pulumi.WithMocks("ams-cluster", "dev", noResources{}))
	if err != nil {
		t.Fatalf("the default configuration is refused: %v", err)
	}
	declared := map[string]bool{}
	for _, k := range keys {
		declared[k.Name] = true
		if !read[k.Name] {
			t.Errorf("Pulumi.yaml declares %s, which internal/stack never reads", k.Name)
		}
	}
	for key := range read {
		if !declared[key] {
			t.Errorf("internal/stack reads %s, which Pulumi.yaml does not declare (add it there, then regenerate the README table)", key)
		}
	}
	if len(read) == 0 || !slices.ContainsFunc(keys, func(k settings.Key) bool { return k.Name == "zoneCount" }) {
		t.Fatal("nothing was compared")
	}
}

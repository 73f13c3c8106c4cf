package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// TestExistingVPCWithAnExternalDatabase runs the example as `pulumi up`
// would, under AWS-like mocks: no MongoDB node, no VPC of its own, and nodes
// that may read the external database URL parameter and nothing else.
func TestExistingVPCWithAnExternalDatabase(t *testing.T) {
	m := mockaws.New()
	err := pulumi.RunErr(run, pulumi.WithMocks("existing-vpc", "test", m), func(info *pulumi.RunInfo) {
		info.Config = map[string]string{
			"existing-vpc:vpcId":                "vpc-0123456789abcdef0",
			"existing-vpc:subnetIds":            `["subnet-0123456789abcdef0","subnet-0fedcba9876543210"]`,
			"existing-vpc:databaseUrlParameter": "/live/atlas/url",
		}
	})
	if err != nil {
		t.Fatalf("the example fails: %v", err)
	}
	for _, typ := range []string{"ams:cluster:MongoNode", "ams:cluster:Network", "aws:ec2/vpc:Vpc", "aws:ec2/instance:Instance"} {
		if n := len(m.OfType(typ)); n != 0 {
			t.Errorf("%d × %s: the example must use the existing VPC and database", n, typ)
		}
	}
	if n := len(m.OfType("aws:autoscaling/group:Group")); n != 2 {
		t.Errorf("%d Auto Scaling groups, want origin and edge", n)
	}
	want := "arn:aws:ssm:eu-central-1:123456789012:parameter/live/atlas/url"
	for _, p := range m.OfType("aws:iam/rolePolicy:RolePolicy") {
		var doc struct {
			Statement []struct {
				Action   []string
				Resource any
			}
		}
		if err := json.Unmarshal([]byte(p.Inputs["policy"].StringValue()), &doc); err != nil {
			t.Fatal(err)
		}
		for _, s := range doc.Statement {
			if slices.Contains(s.Action, "ssm:GetParameter") {
				if got, _ := json.Marshal(s.Resource); !strings.Contains(string(got), want) || strings.Count(string(got), "arn:") != 1 {
					t.Errorf("%s may read %s, want only %s", p.Name, got, want)
				}
			}
		}
	}
}

// TestComponentsGuideShowsThisProgram keeps the library snippet of the
// components guide (docs/components.md) a copy of this compiled program.
func TestComponentsGuideShowsThisProgram(t *testing.T) {
	guide, err := os.ReadFile("../../docs/components.md")
	if err != nil {
		t.Fatal(err)
	}
	const heading = "## Using the components in another stack"
	at := strings.Index(string(guide), heading)
	if at < 0 {
		t.Fatalf("docs/components.md has no section %q", heading)
	}
	section := string(guide)[at:]
	start := strings.Index(section, "```go\n") + len("```go\n")
	snippet := section[start : start+strings.Index(section[start:], "```")]
	program, err := os.ReadFile("main.go")
	if err != nil {
		t.Fatal(err)
	}
	indented := "\t" + strings.ReplaceAll(strings.TrimRight(snippet, "\n"), "\n", "\n\t")
	indented = strings.ReplaceAll(indented, "\n\t\n", "\n\n")
	if len(snippet) < 200 || !strings.Contains(string(program), indented) {
		t.Errorf("the snippet in docs/components.md is not a copy of examples/existing-vpc/main.go:\n%s", snippet)
	}
}

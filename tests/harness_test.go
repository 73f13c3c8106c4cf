package tests

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/mockaws"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
	"gopkg.in/yaml.v3"
)

const (
	project   = mockaws.Project
	account   = mockaws.Account
	region    = mockaws.Region
	ubuntuAMI = mockaws.UbuntuAMI
	armAMI    = mockaws.UbuntuArmAMI
	amsAMI    = mockaws.AmsAMI
	// amsArmAMI is a pinned arm64 Ant Media Server image (a custom build).
	amsArmAMI = mockaws.AmsArmAMI
)

// registered is one resource the program registered, as the engine saw it
// (mockaws.Resource, with the tests' short accessors).
type registered mockaws.Resource

// input returns an input by dotted path ("healthCheck.path").
func (r *registered) input(path string) resource.PropertyValue {
	return (*mockaws.Resource)(r).Input(path)
}

func lookup(v resource.PropertyValue, path string) resource.PropertyValue {
	return mockaws.Lookup(v, path)
}

func unsecret(v resource.PropertyValue) resource.PropertyValue { return mockaws.Unsecret(v) }

func (r *registered) str(path string) string { return (*mockaws.Resource)(r).Str(path) }

// expectInputs fails the test for every input path of res whose value is not the one wanted.
func expectInputs(t *testing.T, res *registered, want map[string]string) {
	t.Helper()
	for _, path := range keys(want) {
		if got := res.str(path); got != want[path] {
			t.Errorf("%s %s: %s = %q, want %q", res.Type, res.Name, path, got, want[path])
		}
	}
}

func (r *registered) num(path string) float64 { return (*mockaws.Resource)(r).Num(path) }

// run is one execution of the stack program under mocks.
type run struct {
	resources []*registered
	calls     []pulumi.MockCallArgs
	outputs   map[string]internals.UnsafeAwaitOutputResult
	passwords []string
	err       error
}

// mocks answers like AWS: realistic IDs, ARNs, addresses and image look-ups
// (internal/mockaws). retained are values that SSM parameters (by name)
// keep in their state whatever the program's inputs say, as the engine
// keeps an ignored property of an existing resource.
type mocks struct {
	*mockaws.Mocks
	retained map[string]string
}

func newMocks() *mocks {
	return &mocks{Mocks: mockaws.New(), retained: map[string]string{}}
}

// recorded is what the mocks recorded, as a run.
func (m *mocks) recorded(err error) *run {
	return fromResult(&mockaws.Result{Resources: m.Registered(), Calls: m.Calls(), Passwords: m.Passwords(), Err: err})
}

func fromResult(res *mockaws.Result) *run {
	out := &run{calls: res.Calls, outputs: res.Outputs, passwords: res.Passwords, err: res.Err}
	for _, r := range res.Resources {
		out.resources = append(out.resources, (*registered)(r))
	}
	return out
}

// stackConfig is the configuration a stack would run with: Pulumi.yaml's
// defaults (as the CLI applies them), then the stack file, then overrides
// (mockaws.StackConfig).
func stackConfig(t *testing.T, stackFile string, overrides map[string]string) map[string]string {
	t.Helper()
	stackName := ""
	if stackFile != "" {
		stackName = strings.TrimSuffix(strings.TrimPrefix(stackFile, "Pulumi."), ".yaml")
	}
	cfg, _, err := mockaws.StackConfig(repoRoot(t), stackName, overrides)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func projectDefaults(t *testing.T) map[string]string {
	t.Helper()
	return stackConfig(t, "", nil)
}

func readYAML(t *testing.T, path string, out any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// runProgram runs the stack program, exactly as main.go does, with cfg,
// and records what it exports.
func runProgram(t *testing.T, cfg map[string]string, secretKeys ...string) *run {
	t.Helper()
	return runProgramWith(t, newMocks(), cfg, secretKeys...)
}

// runProgramWith is runProgram against prepared mocks. Every stack file
// runs as stack "dev".
func runProgramWith(t *testing.T, m *mocks, cfg map[string]string, secretKeys ...string) *run {
	t.Helper()
	for name, value := range m.retained {
		m.Retain(name, value)
	}
	return fromResult(mockaws.RunStack(m.Mocks, "dev", cfg, secretKeys))
}

// deploy runs the dev stack with overrides and fails the test on error.
func deploy(t *testing.T, overrides map[string]string, secretKeys ...string) *run {
	t.Helper()
	r := runProgram(t, stackConfig(t, "Pulumi.dev.yaml", overrides), secretKeys...)
	if r.err != nil {
		t.Fatalf("stack failed: %v", r.err)
	}
	return r
}

func (r *run) ofType(typ string) []*registered {
	var out []*registered
	for _, res := range r.resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func (r *run) one(t *testing.T, typ, nameSuffix string) *registered {
	t.Helper()
	var found []*registered
	for _, res := range r.ofType(typ) {
		if strings.HasSuffix(res.Name, nameSuffix) {
			found = append(found, res)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want exactly one %s named *%s, found %d", typ, nameSuffix, len(found))
	}
	return found[0]
}

func (r *run) byID(id string) *registered {
	for _, res := range r.resources {
		if res.ID == id {
			return res
		}
	}
	return nil
}

func (r *run) byArn(arn string) *registered {
	for _, res := range r.resources {
		if stateString(res, "arn") == arn {
			return res
		}
	}
	return nil
}

func (r *run) byURN(urn string) *registered {
	for _, res := range r.resources {
		if res.URN == urn {
			return res
		}
	}
	return nil
}

func (r *run) output(t *testing.T, name string) internals.UnsafeAwaitOutputResult {
	t.Helper()
	o, ok := r.outputs[name]
	if !ok {
		t.Fatalf("stack output %q missing; have %v", name, keys(r.outputs))
	}
	return o
}

func (r *run) outputString(t *testing.T, name string) string {
	t.Helper()
	return fmt.Sprint(r.output(t, name).Value)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// userData returns a launch template's or instance's boot script, decoded
// and, when gzipped (as cloud-init accepts it), decompressed.
func userData(t *testing.T, res *registered) string {
	t.Helper()
	encoded := res.str("userData")
	if encoded == "" {
		encoded = res.str("userDataBase64")
	}
	b, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("%s %s: user data is not base64: %v", res.Type, res.Name, err)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s %s: user data is not gzip: %v", res.Type, res.Name, err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatalf("%s %s: user data: %v", res.Type, res.Name, err)
		}
	}
	return string(b)
}

func stateString(res *registered, key string) string {
	if v := unsecret(res.State[resource.PropertyKey(key)]); v.IsString() {
		return v.StringValue()
	}
	return ""
}

func redact(s string) string {
	return regexp.MustCompile(`:[^:@/]+@`).ReplaceAllString(s, ":***@")
}

// externalDatabase is the dev stack on an external database: the MongoDB
// keys the dev stack file sets are removed, as docs/external-database.md says to.
func externalDatabase(extra map[string]string) map[string]string {
	cfg := map[string]string{
		"databaseUrlParameter": atlasParameter,
		"mongoInstanceType":    "<unset>", "mongoDataVolumeGiB": "<unset>", "snapshotRetentionCount": "<unset>",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

// replicaConfig is a stack with a three-member replica set.
func replicaConfig() map[string]string {
	// subnetPrefixLength 19 is prod's addressing (Pulumi.prod.yaml), which
	// the stop-14 scripts in testdata/v14 name their members by.
	return map[string]string{"mongoMembers": "3", "zoneCount": "3", "subnetPrefixLength": "19"}
}

// mongoMembers are the registered instances of the MongoDB members, in
// member order: member 0 keeps the single node's name.
func mongoMembers(t *testing.T, r *run) []*registered {
	t.Helper()
	var out []*registered
	for _, suffix := range []string{"-mongo", "-mongo-1", "-mongo-2"} {
		out = append(out, r.one(t, "aws:ec2/instance:Instance", suffix))
	}
	return out
}

const atlasParameter = "/ams-cluster/dev/external/atlas-url"

// repoRoot is the module's root directory (where go.mod is), found from the
// test's directory: tests/ and the sandbox packages below it share this
// harness.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

package settings

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the README's configuration table from Pulumi.yaml")

const root = "../.."

func schema(t *testing.T) []Key {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 40 {
		t.Fatalf("Pulumi.yaml declares %d keys; the parser lost some", len(keys))
	}
	return keys
}

// rows indexes a table's rows by their first cell.
func rows(table string) (map[string]string, []string) {
	byKey := map[string]string{}
	var order []string
	for _, line := range strings.Split(table, "\n") {
		cells := strings.SplitN(line, "|", 3)
		if len(cells) < 3 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		key := strings.Trim(strings.TrimSpace(cells[1]), "`")
		byKey[key] = line
		order = append(order, key)
	}
	return byKey, order
}

// The README's configuration table is Pulumi.yaml's schema: same keys, in
// the same order, with the same types, defaults and descriptions.
func TestReadmeConfigurationTableIsTheSchema(t *testing.T) {
	keys := schema(t)
	path := filepath.Join(root, "README.md")
	readme, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Table(keys)
	got, err := ReplaceTable(string(readme), want)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got == string(readme) {
		return
	}
	section := string(readme)[strings.Index(string(readme), TableStart):strings.Index(string(readme), TableEnd)]
	have, haveOrder := rows(section)
	wantRows, wantOrder := rows(want)
	for _, k := range wantOrder {
		switch row, ok := have[k]; {
		case !ok:
			t.Errorf("README lacks key %s:\n  want %s", k, wantRows[k])
		case row != wantRows[k]:
			t.Errorf("README row of %s differs from Pulumi.yaml:\n  have %s\n  want %s", k, row, wantRows[k])
		}
	}
	for _, k := range haveOrder {
		if _, ok := wantRows[k]; !ok {
			t.Errorf("README lists %s, which Pulumi.yaml does not declare", k)
		}
	}
	if !t.Failed() {
		t.Errorf("README table's rows are out of Pulumi.yaml's order or its header differs")
	}
	t.Log("go test ./internal/settings -update rewrites the table from Pulumi.yaml")
}

// Descriptions leave accepted values to the components' checks, which name
// them in the error a bad value gets: one place per range.
func TestDescriptionsLeaveRangesToTheComponents(t *testing.T) {
	for _, problem := range CheckDescriptions(schema(t)) {
		t.Error(problem)
	}
	if CheckDescriptions([]Key{{Name: "zoneCount", Description: "Zones, 2 to 6."}}) == nil {
		t.Error("a stated range went unnoticed")
	}
}

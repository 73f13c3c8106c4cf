package impact_test

import (
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/ams-cluster/ams-aws/internal/impact"
)

var update = flag.Bool("update", false, "rewrite docs/change-impact.md")

const tableFile = "../../docs/change-impact.md"

// statefulChanges are the keys whose change may replace, restart or delete
// a stateful resource (a MongoDB member, its data volume or interface, a
// subnet), and what it does to them, as the table states it. A key that
// starts doing so, or does something else to them, fails the test until
// it is listed here, on purpose.
var statefulChanges = map[string]string{
	// Moving the VPC, the subnets or their size moves MongoDB's interfaces,
	// so their addresses, so the URL: every member is replaced (one after
	// another) and the data volumes stay. Not a routine change.
	"vpcCidr":            "replaces MongoDB member ×3; replaces MongoDB network interface ×3; replaces subnet ×3",
	"subnetPrefixLength": "replaces MongoDB member ×3; replaces MongoDB network interface ×3; replaces subnet ×3",
	"existingVpcId":      "deletes subnet ×3; replaces MongoDB data volume ×2; replaces MongoDB member ×3; replaces MongoDB network interface ×3",
	"existingSubnetIds":  "deletes subnet ×3; replaces MongoDB data volume ×2; replaces MongoDB member ×3; replaces MongoDB network interface ×3",
	// An external database takes MongoDB out of the stack; its data volume
	// is protected and retained, so `pulumi up` stops until it is unprotected.
	"databaseUrlParameter": "deletes MongoDB data volume; deletes MongoDB member; deletes MongoDB network interface",
	// Member 0's boot script learns the other members.
	"mongoMembers": "replaces MongoDB member",
	// A stop and start of each member, one after another.
	"mongoInstanceType": "restarts MongoDB member ×3",
}

// TestChangeImpactTable computes what changing each configuration key does
// and compares it with docs/change-impact.md (-update rewrites it).
func TestChangeImpactTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the program twice per key")
	}
	rows, err := impact.Table("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		var lost []impact.Effect
		for _, e := range r.Effects {
			if e.Loses() {
				lost = append(lost, e)
			}
		}
		stateful, _ := impact.Summary(lost)
		if want := statefulChanges[r.Key]; stateful != want {
			t.Errorf("changing %s (%v) %q to stateful resources; the table says %q:\n%v", r.Key, r.Set, stateful, want, lost)
		}
	}
	var b bytes.Buffer
	if err := impact.WriteMarkdown(&b, rows); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(tableFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(tableFile)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/impact -update)", err)
	}
	if !bytes.Equal(got, b.Bytes()) {
		t.Errorf("%s is not what the program does; run go test ./internal/impact -run TestChangeImpactTable -update and review the diff", tableFile)
	}
}

// A new instance type restarts the members one at a time; a new SSH key
// replaces no member.
func TestDiffOfOneChange(t *testing.T) {
	effects, err := impact.Diff("../..", "dev", impact.ReplicaSet, map[string]string{"mongoInstanceType": "m5.2xlarge"})
	if err != nil {
		t.Fatal(err)
	}
	var restarted []string
	for _, e := range effects {
		if e.Kind == impact.Restart {
			restarted = append(restarted, e.Name)
		}
	}
	if strings.Join(restarted, " ") != "ams-cluster-dev-mongo ams-cluster-dev-mongo-1 ams-cluster-dev-mongo-2" {
		t.Errorf("restarted %v, want the three members", restarted)
	}
}

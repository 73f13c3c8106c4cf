package tests

import (
	"os"
	"path/filepath"
	"testing"
)

// The boot scripts as main rendered them at f43a39b (stop 14), for the dev
// stack's fixture configuration (boot_fixture_test.go) and for
// replicaConfig: user data exactly as the launch templates and instances
// carried it. The stricter stand-ins must catch the defects issue 16 names
// in them, as TestSandboxCatchesSeedDefects does for the seed's.

// v14Script reads one rendered script of stop 14 from testdata/v14:
// mongo-bootstrap.sh, ams-origin.sh, ams-edge.sh, mongo-member-N.sh,
// replica-ams-origin.sh, replica-ams-edge.sh.
func v14Script(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v14", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// v14Scripts are the single-member stack's boot scripts of stop 14.
func v14Scripts() scriptSet {
	return scriptSet{
		name:  "v14",
		mongo: func(c *bootCluster) string { return v14Script(c.t, "mongo-bootstrap.sh") },
		ams:   func(c *bootCluster, role string) string { return v14Script(c.t, "ams-"+role+".sh") },
	}
}

package tests

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestSandboxCatchesSeedDefects runs the scenarios against the seed
// cluster's scripts: each defect the boot-behaviour issue lists must break
// the property that names it. A sandbox that passed the seed scripts would
// prove nothing.
func TestSandboxCatchesSeedDefects(t *testing.T) {
	for _, tc := range []struct {
		defect   string
		scenario scenario
		awsCLI   bool // the seed scripts need the AWS CLI on the image
		want     string
	}{
		{"MongoDB never gets its users", mongoFirstBoot, true, "not authorized on admin to execute command { usersInfo"},
		{"mongod starts before its data volume after a reboot", mongoReboot, true, "after the reboot mongod serves"},
		{"an interrupted first boot never converges", mongoInterruptedAfterAdmin, true, "after the interrupted boot was resumed"},
		{"AMS nodes do not wait for MongoDB", amsWaitsForDatabase, true, "joined the cluster while the database was not ready"},
		{"a late database skips the panel claim silently", amsFailsWithoutDatabase, true, "exited 0"},
		{"the node enters service before the claim", amsWaitsForDatabase, true, "in service before"},
		{"every scale-out installs the AWS CLI", amsInstallsNothingAndRetries, false, "installs packages at boot"},
	} {
		t.Run(tc.defect, func(t *testing.T) {
			t.Parallel()
			if tc.awsCLI {
				if _, err := exec.LookPath("aws"); err != nil {
					t.Skip("the seed scripts call the AWS CLI, which this machine lacks")
				}
			}
			c := newBootCluster(t, seedScripts())
			c.seedAWSCLI = tc.awsCLI
			got := tc.scenario(c)
			if !slices.ContainsFunc(got, func(f string) bool { return strings.Contains(f, tc.want) }) {
				t.Errorf("the sandbox did not catch %q: no failure mentions %q; failures:\n  %s", tc.defect, tc.want, strings.Join(got, "\n  "))
			}
		})
	}
}

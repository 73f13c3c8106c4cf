package tests

import "testing"

// TestReplicaBootScenarios runs the replica set's scenarios
// (boot_replica_test.go) under the instant timing; tests/replicaadv runs
// them under the adversarial timing.
func TestReplicaBootScenarios(t *testing.T) { runReplicaScenarios(t, timings()[:1]) }

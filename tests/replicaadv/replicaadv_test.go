package tests

import "testing"

// TestReplicaBootScenariosAdversarial runs the replica set's scenarios
// (../replica/boot_replica_test.go) under the adversarial timing, in a
// package of its own so that each fits go test's ten minutes.
func TestReplicaBootScenariosAdversarial(t *testing.T) { runReplicaScenarios(t, timings()[1:]) }

package tests

import "testing"

// The warm pool's, the agent's and the drain's scenarios
// (../boot/boot_lifecycle_test.go), in a package of their own so that
// tests/boot fits go test's ten minutes with both timings.

func TestLifecycleScenarios(t *testing.T) { runScenarios(t, timings(), lifecycleScenarios()) }

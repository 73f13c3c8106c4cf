package tests

import "testing"

// The boot scenarios (boot_test.go) under the instant timing; tests/bootadv
// runs them under the adversarial timing, so that each package fits go
// test's ten minutes.

func TestBootScenarios(t *testing.T) { runScenarios(t, timings()[:1], scenarios()) }

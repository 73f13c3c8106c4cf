package tests

import "testing"

// The boot scenarios (../boot/boot_test.go) under the adversarial timing:
// lifecycle actions open late, target-lifecycle-state lags and a new
// instance's credentials are refused for its first seconds. tests/boot
// runs them under the instant timing; apart, each package fits go test's
// ten minutes.

func TestBootScenariosAdversarial(t *testing.T) { runScenarios(t, timings()[1:], scenarios()) }

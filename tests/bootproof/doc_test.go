package tests

// The proofs that the sandbox catches the defects of earlier scripts: the
// seed cluster's (TestSandboxCatchesSeedDefects, ../boot/testdata/seed)
// and stop 14's (TestSandboxCatchesV14BootDefects and
// TestSandboxCatchesV14TimingDefects, ../boot/testdata/v14), each run
// through the scenarios of ../boot, in a package of their own so that
// tests/boot fits go test's ten minutes.

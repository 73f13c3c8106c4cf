package awsapi

// Unexported names the package's external tests use.

const (
	AutoScalingNS = autoScalingNS
	TestAccount   = testAccount
	TestRegion    = testRegion
)

type (
	Credential = credential
)

var (
	DoJSON      = doJSON
	SignForTest = testSign
)

package antmedia

// Unexported names the package's external tests use.

const (
	AMSUserCollection = amsUserCollection
	AMSUserDB         = amsUserDB
)

type (
	AMSResult = amsResult
)

var (
	AMSMD5              = amsMD5
	AMSWebapps          = amsWebapps
	LoadAMSRuntime      = loadAMSRuntime
	ReadJavaProperties  = readJavaProperties
	RunChangeServerMode = runChangeServerMode
	SedChange           = sedChange
)

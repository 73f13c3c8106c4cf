package antmedia

// Unexported names the package's external tests use.

const (
	AMSAppSettings    = amsAppSettings
	AMSAppSyncSeconds = amsAppSyncSeconds
	AMSClusterDB      = amsClusterDB
	AMSUserCollection = amsUserCollection
	AMSUserDB         = amsUserDB
)

type (
	AMSResult = amsResult
)

var (
	AMSDiscardsSpecialArguments = amsDiscardsSpecialArguments
	AMSMD5                      = amsMD5
	AMSWebapps                  = amsWebapps
	FFmpegRTMPSplit             = ffmpegRTMPSplit
	CreateAppScript             = createAppScript
	LoadAMSRuntime              = loadAMSRuntime
	ReadJavaProperties          = readJavaProperties
	RunChangeServerMode         = runChangeServerMode
	SedChange                   = sedChange
	TokenFilterStreamID         = tokenFilterStreamID
)

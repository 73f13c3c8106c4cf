package mongod

// Unexported names the package's external tests use.

const (
	CodeAlreadyInitialized  = codeAlreadyInitialized
	CodeNodeNotFound        = codeNodeNotFound
	CodeNotYetInitialized   = codeNotYetInitialized
	CodeWriteConcernFailed  = codeWriteConcernFailed
	MongodConfigLoadSeconds = mongodConfigLoadSeconds
)

type (
	MongoSession = mongoSession
)

var (
	ParseMongoURL   = parseMongoURL
	SaveMongodState = saveMongodState
)

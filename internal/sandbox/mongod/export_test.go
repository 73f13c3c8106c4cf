package mongod

// Unexported names the package's external tests use.

type (
	MongoCommand = mongoCommand
	MongoSession = mongoSession
)

var (
	ParseMongoURL   = parseMongoURL
	SaveMongodState = saveMongodState
)

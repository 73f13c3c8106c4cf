package sandbox

// STUB — owned by the MongoDB helper; replace this file with mongo.go.

func mongosh(e *Env, args []string) int { return 127 }
func mongodStart(e *Env) error          { return nil }
func mongodStop(e *Env) error           { return nil }

// MongoConn is a client connection to the mongod model.
type MongoConn struct{}

func dialMongo(worldDir, rawURL, fromIP string) (*MongoConn, error) { return nil, nil }

// Find returns the documents of a collection.
func (c *MongoConn) Find(db, coll string) ([]map[string]any, error) { return nil, nil }

// InsertUnique inserts doc unless a document with the same value of key exists.
func (c *MongoConn) InsertUnique(db, coll string, doc map[string]any, key string) error { return nil }

// Close closes the connection.
func (c *MongoConn) Close() {}

// Package mongod is the sandbox's model of MongoDB 8.0 as the boot scripts
// and Ant Media Server meet it: mongod's configuration file, its data
// directory and users, the commands the scripts run and the access rules
// they pass (the localhost exception, SCRAM authentication, built-in roles),
// replica sets (initiate, reconfigure, elections, initial sync, members in
// STARTUP while they load their configuration, write concerns), mongosh,
// the client side of a connection string as the drivers read it, and the
// mongodb-org package.
//
// Upstream sources it follows (repository mongodb/mongo unless noted) are
// listed at the head of config.go and repl.go and beside each model:
// src/mongo/db/auth (authorization_session_impl.cpp,
// user_management_commands_common.cpp), src/mongo/db/commands.cpp,
// src/mongo/db/repl (replication_coordinator_impl.cpp,
// repl_set_config_checks.cpp, check_quorum_for_config_change.cpp,
// topology_coordinator.cpp, initial_syncer.cpp), src/mongo/util/
// security_file.cpp; mongodb-js/mongosh for the shell; the Connection
// String specification (mongodb/specifications) for URLs.
package mongod

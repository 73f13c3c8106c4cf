package mongod

import (
	"errors"
	"fmt"
	"os"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// InstallPackage lays down what the mongodb-org packages install: the
// binaries, the mongod unit, a default /etc/mongod.conf (loopback only,
// no authorization) and the data and log directories. The package does not
// enable or start the service.
func InstallPackage(e *machine.Env) error {
	unit := "[Unit]\nDescription=MongoDB Database Server\nAfter=network-online.target\n\n[Service]\nUser=mongodb\nExecStart=/usr/bin/mongod --config /etc/mongod.conf\n\n[Install]\nWantedBy=multi-user.target\n"
	if err := os.WriteFile(e.Path("/lib/systemd/system/mongod.service"), []byte(unit), 0o644); err != nil {
		return err
	}
	for _, d := range []string{"/var/lib/mongodb", "/var/log/mongodb"} {
		if err := os.MkdirAll(e.Path(d), 0o755); err != nil {
			return err
		}
	}
	if _, err := os.Stat(e.Path("/etc/mongod.conf")); errors.Is(err, os.ErrNotExist) {
		conf := fmt.Sprintf("storage:\n  dbPath: %s\nsystemLog:\n  destination: file\n  path: %s\nnet:\n  port: 27017\n  bindIp: 127.0.0.1\n",
			e.Path("/var/lib/mongodb"), e.Path("/var/log/mongodb/mongod.log"))
		if err := os.WriteFile(e.Path("/etc/mongod.conf"), []byte(conf), 0o644); err != nil {
			return err
		}
	}
	return machine.MarkInstalled(e, "mongodb-org")
}

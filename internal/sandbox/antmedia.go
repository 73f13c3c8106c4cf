package sandbox

import (
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
)

// AMSMode reports the server mode and cluster database URL as the node's
// configuration files say now (conf/jee-container.xml and clusterdb.host of
// conf/red5.properties), whether or not the server has been restarted since.
func (n *Node) AMSMode() (mode, databaseURL string) {
	cfg, err := antmedia.ReadAMSConfig(n.Env())
	if err != nil {
		return "", ""
	}
	return cfg.Mode, cfg.ClusterDB
}

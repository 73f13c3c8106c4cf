package components

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Log files the boot scripts, Ant Media Server and MongoDB write, which the
// CloudWatch agent ships.
const (
	BootLogFile     = "/var/log/cloud-init-output.log"
	AMSLogFile      = "/usr/local/antmedia/log/ant-media-server.log"
	AMSErrorLogFile = "/usr/local/antmedia/log/antmedia-error.log"
	MongoLogFile    = "/var/log/mongodb/mongod.log"
	// AgentConfigFile is where the boot scripts write the agent's configuration.
	AgentConfigFile = "/opt/aws/amazon-cloudwatch-agent/etc/ams-cluster.json"
	// MongoDataPath is the mount point of the MongoDB data volume, whose
	// usage the agent publishes as disk_used_percent with dimension path.
	MongoDataPath = "/var/lib/mongodb"
)

// LogRetentionDays are the retention periods CloudWatch Logs accepts.
var LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// isLogRetention reports whether CloudWatch Logs accepts days as a retention period.
func isLogRetention(days int) bool { return slices.Contains(LogRetentionDays, days) }

// LogFile is one file on a node and the log group that receives it.
type LogFile struct {
	// Path is the file on the node.
	Path string
	// LogGroupName is the CloudWatch Logs group its lines go to.
	LogGroupName string
}

// AgentConfig is the CloudWatch agent's configuration file, in the agent's
// own schema (amazon-cloudwatch-agent "Manually create or edit the
// CloudWatch agent configuration file").
type AgentConfig struct {
	Agent   AgentSection `json:"agent"`
	Logs    AgentLogs    `json:"logs"`
	Metrics AgentMetrics `json:"metrics"`
}

// AgentSection is the agent's own settings.
type AgentSection struct {
	MetricsCollectionInterval int    `json:"metrics_collection_interval"`
	Logfile                   string `json:"logfile"`
	RunAsUser                 string `json:"run_as_user"`
}

// AgentLogs lists the files the agent ships.
type AgentLogs struct {
	LogsCollected struct {
		Files struct {
			CollectList []AgentLogFile `json:"collect_list"`
		} `json:"files"`
	} `json:"logs_collected"`
}

// AgentLogFile is one entry of the collect list.
type AgentLogFile struct {
	FilePath      string `json:"file_path"`
	LogGroupName  string `json:"log_group_name"`
	LogStreamName string `json:"log_stream_name"`
	Timezone      string `json:"timezone"`
	// Filters drop lines before they leave the node (the agent's
	// "filters" of a collect_list entry: type include or exclude, a regular
	// expression).
	Filters []AgentLogFilter `json:"filters,omitempty"`
}

// AgentLogFilter is one filter of a collect list entry.
type AgentLogFilter struct {
	Type       string `json:"type"`
	Expression string `json:"expression"`
}

// CredentialURLPattern matches a log line that carries a database URL with
// credentials; the agent drops such lines from every file it ships. Ant
// Media logs the create_app.sh command line, `-m mongodb://user:password@…`
// included, at every application's creation
// (AdminApplication.runCreateAppScript, 3.0.x), and create_app.sh echoes it.
const CredentialURLPattern = `(mongodb(\+srv)?|redis)://[^\s/@]*@`

// AgentMetrics are the metrics the agent publishes.
type AgentMetrics struct {
	Namespace             string            `json:"namespace"`
	AppendDimensions      map[string]string `json:"append_dimensions"`
	AggregationDimensions [][]string        `json:"aggregation_dimensions"`
	MetricsCollected      struct {
		Mem  AgentMeasurement `json:"mem"`
		Disk AgentDisk        `json:"disk"`
	} `json:"metrics_collected"`
}

// AgentMeasurement names the measurements of a plugin.
type AgentMeasurement struct {
	Measurement []string `json:"measurement"`
}

// AgentDisk is the disk plugin: usage of the given mount points.
type AgentDisk struct {
	Measurement []string `json:"measurement"`
	Resources   []string `json:"resources"`
	DropDevice  bool     `json:"drop_device"`
}

// NewAgentConfig builds the agent configuration that ships files and
// publishes memory and disk usage (of diskPaths) under namespace, with the
// instance ID as dimension (and the mount point for disks).
func NewAgentConfig(namespace string, files []LogFile, diskPaths []string) AgentConfig {
	c := AgentConfig{
		Agent: AgentSection{
			MetricsCollectionInterval: 60,
			Logfile:                   "/opt/aws/amazon-cloudwatch-agent/logs/amazon-cloudwatch-agent.log",
			RunAsUser:                 "root",
		},
		Metrics: AgentMetrics{
			Namespace:        namespace,
			AppendDimensions: map[string]string{"InstanceId": "${aws:InstanceId}"},
			// Alarms need exact dimension sets: InstanceId for memory,
			// InstanceId and path for disks (no device or file system type).
			AggregationDimensions: [][]string{{"InstanceId"}, {"InstanceId", "path"}},
		},
	}
	for _, f := range files {
		c.Logs.LogsCollected.Files.CollectList = append(c.Logs.LogsCollected.Files.CollectList, AgentLogFile{
			FilePath: f.Path, LogGroupName: f.LogGroupName, LogStreamName: "{instance_id}", Timezone: "UTC",
			Filters: []AgentLogFilter{{Type: "exclude", Expression: CredentialURLPattern}},
		})
	}
	c.Metrics.MetricsCollected.Mem.Measurement = []string{"mem_used_percent"}
	c.Metrics.MetricsCollected.Disk = AgentDisk{Measurement: []string{"used_percent"}, Resources: diskPaths, DropDevice: true}
	return c
}

// JSON renders the configuration as the agent reads it.
func (c AgentConfig) JSON() (string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("cloudwatch agent config: %w", err)
	}
	return string(b), nil
}

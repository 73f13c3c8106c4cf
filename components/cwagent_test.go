package components

import (
	"regexp"
	"testing"
)

// No line with a database URL's credentials leaves a node: Ant Media logs
// create_app.sh's command line, database URL included.
func TestAgentDropsLogLinesWithDatabaseCredentials(t *testing.T) {
	c := NewAgentConfig("ns", []LogFile{{Path: AMSLogFile, LogGroupName: "g"}, {Path: BootLogFile, LogGroupName: "b"}}, nil)
	for _, f := range c.Logs.LogsCollected.Files.CollectList {
		if len(f.Filters) != 1 || f.Filters[0].Type != "exclude" || f.Filters[0].Expression != CredentialURLPattern {
			t.Errorf("%s: filters %+v, want the exclusion of CredentialURLPattern", f.FilePath, f.Filters)
		}
	}
	re := regexp.MustCompile(CredentialURLPattern)
	for line, drop := range map[string]bool{
		"Creating application with command: /usr/local/antmedia/create_app.sh -n Shows -m mongodb://ams:s3cret@10.20.0.5:27017,10.20.32.6:27017": true,
		"db.host=mongodb+srv://ams:pw@cluster0.example.net": true,
		"joined cluster with redis://default:pw@cache:6379": true,
		"connected to mongodb://10.20.0.5:27017":            false,
		"ams-node[origin]: the database is ready":           false,
	} {
		if got := re.MatchString(line); got != drop {
			t.Errorf("%q: dropped %v, want %v", line, got, drop)
		}
	}
}

package awsapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// The CloudWatch agent, as the boot scripts meet it: Amazon publishes it as
// a .deb per region and architecture in S3
// (https://amazoncloudwatch-agent-<region>.s3.<region>.amazonaws.com/ubuntu/<arch>/latest/amazon-cloudwatch-agent.deb,
// "Download and install the CloudWatch agent using the command line"), it is
// installed with dpkg -i, and amazon-cloudwatch-agent-ctl -a fetch-config
// -m ec2 -c file:<path> -s validates a JSON configuration and starts it.
// The agent itself does not run here: the stand-in records the
// configuration it was started with.

// CWAgentPrefix is where the AWS stand-in serves the agent's package; the
// node rewrites the regional S3 host to it.
const CWAgentPrefix = "/cwagent"

// cwAgentPackage is the content of the stand-in package: what dpkg accepts.
const cwAgentPackage = "!<arch>\nsandbox amazon-cloudwatch-agent 1.300000\n"

// cwAgentCtl is where the package installs its control command.
const cwAgentCtl = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"

var cwAgentPath = regexp.MustCompile(`^` + CWAgentPrefix + `/ubuntu/(amd64|arm64)/latest/amazon-cloudwatch-agent\.deb$`)

// cwAgentDownloads counts the package's downloads and the failures still to
// answer, per AWS stand-in.
type cwAgentDownloads struct {
	served, failNext int
}

// FailAgentDownloads makes the next n downloads of the CloudWatch agent's
// package fail with 503, as S3 answers when it is unavailable.
func (a *AWS) FailAgentDownloads(n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cwAgent.failNext = n
}

// AgentDownloads is how many times the package was served.
func (a *AWS) AgentDownloads() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cwAgent.served
}

func (a *AWS) serveCWAgent(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cwAgent.failNext > 0 {
		a.cwAgent.failNext--
		http.Error(w, "<Error><Code>ServiceUnavailable</Code></Error>", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodGet || !cwAgentPath.MatchString(r.URL.Path) {
		http.Error(w, "<Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
		return
	}
	a.cwAgent.served++
	w.Header().Set("Content-Type", "application/vnd.debian.binary-package")
	_, _ = w.Write([]byte(cwAgentPackage))
}

// Dpkg models the two uses the scripts make of dpkg(1): --print-architecture,
// and -i (with -E, skip an installed same version) of a package file, which
// fails on anything that is not a Debian archive.
func Dpkg(e *machine.Env, args []string) int {
	var files []string
	install := false
	for _, a := range args {
		switch a {
		case "--print-architecture":
			fmt.Fprintln(e.Stdout, "amd64")
			return 0
		case "-i", "--install":
			install = true
		case "-E", "--skip-same-version":
		default:
			if strings.HasPrefix(a, "-") {
				e.Errorf("dpkg: error: unknown option %s", a)
				return 2
			}
			files = append(files, a)
		}
	}
	if !install || len(files) != 1 {
		e.Errorf("dpkg: error: need an action option")
		return 2
	}
	b, err := os.ReadFile(e.Path(files[0]))
	if err != nil {
		e.Errorf("dpkg: error: cannot access archive '%s': No such file or directory", files[0])
		return 2
	}
	if string(b) != cwAgentPackage {
		e.Errorf("dpkg-deb: error: '%s' is not a Debian format archive", files[0])
		return 2
	}
	self, err := machine.ShimTarget()
	if err != nil {
		e.Errorf("dpkg: %v", err)
		return 2
	}
	ctl := e.Path(cwAgentCtl)
	if err := os.MkdirAll(filepath.Dir(ctl), 0o755); err != nil {
		e.Errorf("dpkg: %v", err)
		return 2
	}
	_ = os.Remove(ctl)
	if err := os.Symlink(self, ctl); err != nil {
		e.Errorf("dpkg: %v", err)
		return 2
	}
	fmt.Fprintln(e.Stdout, "Setting up amazon-cloudwatch-agent (1.300000) ...")
	return 0
}

// CWAgentCtlCmd models amazon-cloudwatch-agent-ctl -a fetch-config -m ec2
// -c file:<path> [-s]: the configuration must be a JSON object; it is kept
// as the running agent's (State "cwagent.json").
func CWAgentCtlCmd(e *machine.Env, args []string) int {
	opts := map[string]string{}
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-s":
			opts["-s"] = "true"
		case "-a", "-m", "-c":
			if i+1 >= len(args) {
				e.Errorf("option %s needs a value", args[i])
				return 1
			}
			opts[args[i]] = args[i+1]
			i++
		default:
			e.Errorf("unknown option %s", args[i])
			return 1
		}
	}
	if opts["-a"] != "fetch-config" || opts["-m"] != "ec2" || !strings.HasPrefix(opts["-c"], "file:") {
		e.Errorf("sandbox: only -a fetch-config -m ec2 -c file:<path> is modelled, got %v", args)
		return 1
	}
	b, err := os.ReadFile(e.Path(strings.TrimPrefix(opts["-c"], "file:")))
	if err != nil {
		e.Errorf("E! config file %s: %v", opts["-c"], err)
		return 1
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		e.Errorf("E! invalid JSON in %s: %v", opts["-c"], err)
		return 1
	}
	if err := os.WriteFile(e.State("cwagent.json"), b, 0o644); err != nil {
		e.Errorf("sandbox: %v", err)
		return 1
	}
	fmt.Fprintln(e.Stdout, "Successfully fetched the config and saved in /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.d/file_config.json.tmp")
	return 0
}

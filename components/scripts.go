package components

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/base64"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"text/template"
	"unicode"
)

//go:embed scripts/*.sh scripts/*.py scripts/*.conf
var scripts embed.FS

// bootTemplates parses every embedded script, once, as one template set, so
// that scripts share partials such as {{ template "awsapi" }}. It is
// package-level like the embedded files it reads: the set is derived from
// them alone, never changes once parsed, and executing a template is safe
// from several goroutines; owning it in a value would mean threading that
// value through every component constructor for no gain.
var bootTemplates = sync.OnceValues(func() (*template.Template, error) {
	return template.New("").Option("missingkey=error").Funcs(template.FuncMap{
		"shq":             shellQuote,
		"agentConfigFile": func() string { return AgentConfigFile },
	}).ParseFS(scripts, "scripts/*.sh", "scripts/*.py", "scripts/*.conf")
})

// MongoBootstrap is what the MongoDB node's boot script is rendered with.
type MongoBootstrap struct {
	// Region is the AWS region of the node and its parameters.
	Region string
	// DataVolumeID is the EBS volume that holds the database.
	DataVolumeID string
	// MongoVersion is the MongoDB release series to install ("8.0").
	MongoVersion string
	// AdminUser and AppUser are the MongoDB users the script keeps.
	AdminUser, AppUser string
	// AdminPasswordParameter and AppPasswordParameter are the SecureString
	// parameters holding their passwords.
	AdminPasswordParameter, AppPasswordParameter string
	// ReadyParameter is the String parameter the node sets to "ready" with
	// the fingerprint of the application credentials it verified.
	ReadyParameter string
	// DataVolumeWaitSeconds bounds the wait for the data volume to appear.
	DataVolumeWaitSeconds int
	// AgentConfig, when set, is the CloudWatch agent's JSON configuration;
	// the node installs the agent once MongoDB is ready.
	AgentConfig string
	// Replica, when set, makes the node a member of a replica set; nil
	// renders the single node's script.
	Replica *MongoReplicaMember
}

// MongoReplicaMember is what a replica set member's boot script adds.
type MongoReplicaMember struct {
	// SetName is the replica set name (replication.replSetName).
	SetName string
	// MemberIndex is this member's index; member 0 initiates the set, keeps
	// the users and publishes readiness.
	MemberIndex int
	// MemberHosts are the members' private addresses, comma-separated, in
	// member order.
	MemberHosts string
	// KeyFileParameter is the SecureString parameter holding the key file.
	KeyFileParameter string
	// MemberWaitSeconds bounds the initiator's wait for every member to
	// answer before it initiates the set.
	MemberWaitSeconds int
	// PrimaryWaitSeconds bounds the initiator's wait for a primary.
	PrimaryWaitSeconds int
}

// AMSBootstrap is what an Ant Media Server node's boot script is rendered with.
type AMSBootstrap struct {
	// Role is "origin" or "edge".
	Role string
	// Region is the AWS region of the node and its parameters.
	Region string
	// DatabaseURLParameter is the SecureString parameter holding the
	// cluster database URL.
	DatabaseURLParameter string
	// DatabaseReadyParameter, when set, is the parameter the database sets
	// ready; the node waits for it before joining the cluster.
	DatabaseReadyParameter string
	// DatabaseWaitSeconds bounds the wait for the database.
	DatabaseWaitSeconds int
	// PanelAdminEmail is the web panel administrator the cluster must have.
	PanelAdminEmail string
	// PanelAdminPasswordParameter, when set, is the SecureString parameter
	// holding that administrator's password: the node claims or verifies
	// the panel before it goes into service.
	PanelAdminPasswordParameter string
	// PanelClaimParameter is the parameter whose creation decides which
	// node claims an empty panel: creation is atomic in Parameter Store.
	PanelClaimParameter string
	// LaunchHookName names the group's launching lifecycle hook, which the
	// node completes when it is ready. The node reads its group's name from
	// its instance tag aws:autoscaling:groupName.
	LaunchHookName string
	// StartWaitSeconds bounds the wait for Ant Media Server to answer.
	StartWaitSeconds int
	// AgentConfig, when set, is the CloudWatch agent's JSON configuration;
	// the node installs the agent once it is in service.
	AgentConfig string
	// DrainHookName names the group's terminating lifecycle hook, which the
	// agent completes once the node's streams and viewers are gone.
	DrainHookName string
	// DrainSeconds bounds a leaving node's wait for its streams to end.
	DrainSeconds int
	// MetricNamespace is the CloudWatch namespace of the agent's metrics.
	MetricNamespace string
	// AgentIntervalSeconds is the agent's polling and publishing interval.
	AgentIntervalSeconds int
	// AppSettingsParameter, when set, is the SecureString parameter holding
	// the settings document (SettingsDocument) the node applies with the
	// panel administrator's credentials (PanelAdminPasswordParameter).
	AppSettingsParameter string
	// Recordings tells the agent that the applications upload their MP4
	// recordings, so that a drain waits for the uploads too.
	Recordings bool
	// Spot tells the agent that the group may run its node on Spot, so that
	// it watches for interruption notices and rebalance recommendations.
	Spot bool
	// Capacity is what the agent's health endpoint judges the node by.
	Capacity AgentCapacity
}

// AgentCapacity is what a node's agent answers the load balancer's health
// checks by, and when it asks for its instance to be replaced.
type AgentCapacity struct {
	// Listen is the address the health endpoint listens on ("0.0.0.0:5090").
	Listen string
	// Path is the health endpoint's path.
	Path string
	// MaxViewers and MaxPublishers are the per-node limits.
	MaxViewers, MaxPublishers int
	// ResumePercent is the share of every limit below which a full node
	// takes new sessions again.
	ResumePercent int
	// DownReplaceSeconds is how long Ant Media Server may stay down before
	// the agent marks the instance unhealthy.
	DownReplaceSeconds int
}

// MongoVerify is what the SSH bootstrap check of a MongoNode is rendered with.
type MongoVerify struct {
	Region, AdminUser, AdminPasswordParameter string
}

// renderScript fills the embedded boot script name with data. Every value is
// inserted through shq, so no value can break out of its shell word; and no
// value holding a control character is rendered at all, so none can end a
// line, and with it a here-document (ams-bootstrap.sh writes ams-node.sh
// inside one), whatever the component's own checks let through.
func renderScript(name string, data any) (string, error) {
	if err := plainText(reflect.ValueOf(data), ""); err != nil {
		return "", fmt.Errorf("script %s: %w", name, err)
	}
	tmpl, err := bootTemplates()
	if err != nil {
		return "", fmt.Errorf("boot scripts: %w", err)
	}
	var out bytes.Buffer
	if err := tmpl.ExecuteTemplate(&out, name, data); err != nil {
		return "", fmt.Errorf("script %s: %w", name, err)
	}
	return out.String(), nil
}

// plainText reports the first string in v (a struct, pointer, slice or
// string, at path) that holds a control character.
func plainText(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return plainText(v.Elem(), path)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				if err := plainText(v.Field(i), strings.TrimPrefix(path+"."+f.Name, ".")); err != nil {
					return err
				}
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := plainText(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.String:
		if i := strings.IndexFunc(v.String(), unicode.IsControl); i >= 0 {
			return fmt.Errorf("%s holds a control character (%q at byte %d); boot script values are single lines of text", path, v.String()[i], i)
		}
	}
	return nil
}

// maxUserData is the most user data EC2 accepts, before base64 encoding.
const maxUserData = 16384

// encodeUserData gzips a boot script and encodes it in base64, as EC2 takes
// user data; cloud-init recognises gzip and runs the script inside. The
// compression is deterministic, so the same script encodes the same.
func encodeUserData(script string) (string, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := zw.Write([]byte(script)); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	if buf.Len() > maxUserData {
		return "", fmt.Errorf("user data is %d bytes compressed, over EC2's %d", buf.Len(), maxUserData)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// commentLine is a line that is only a shell or Python comment.
var commentLine = regexp.MustCompile(`^[ \t]*#(?:[ \t].*)?$`)

// withoutCommentLines drops the lines of a rendered script that are only a
// comment, but shellcheck directives: the embedded files are the
// documentation, and EC2 takes at most 16 KB of user data. A shebang (#!)
// is no comment line. Only for user data whose change replaces nothing
// stateful (the AMS groups roll their nodes on any change anyway).
func withoutCommentLines(script string) string {
	lines := strings.SplitAfter(script, "\n")
	kept := lines[:0]
	for _, l := range lines {
		if !commentLine.MatchString(strings.TrimRight(l, "\n")) || strings.Contains(l, "shellcheck ") {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}

// shellQuote quotes any value as one single-quoted shell word.
func shellQuote(v any) string {
	return "'" + strings.ReplaceAll(fmt.Sprint(v), "'", `'\''`) + "'"
}

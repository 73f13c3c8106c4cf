package components

import (
	"bytes"
	"embed"
	"fmt"
	"strings"
	"text/template"
)

//go:embed scripts/*.sh scripts/*.py
var scripts embed.FS

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
	// GroupName and LaunchHookName name the Auto Scaling group and its
	// launching lifecycle hook, which the node completes when it is ready.
	GroupName, LaunchHookName string
	// StartWaitSeconds bounds the wait for Ant Media Server to answer.
	StartWaitSeconds int
}

// MongoVerify is what the SSH bootstrap check of a MongoNode is rendered with.
type MongoVerify struct {
	Region, AdminUser, AdminPasswordParameter string
}

// renderScript fills the embedded boot script name with data. Every value is
// inserted through shq, so no value can break out of its shell word; the
// shared AWS client is available to every script as {{ template "awsapi" }}.
func renderScript(name string, data any) (string, error) {
	tmpl, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
		"shq":    shellQuote,
		"awsapi": awsAPI,
	}).ParseFS(scripts, "scripts/"+name)
	if err != nil {
		return "", fmt.Errorf("script %s: %w", name, err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, data); err != nil {
		return "", fmt.Errorf("script %s: %w", name, err)
	}
	return out.String(), nil
}

// awsAPI is the Python client the boot scripts call AWS with: IMDSv2 for
// the instance's credentials, then signed requests to SSM and Auto Scaling.
// cloud-init itself is Python, so python3 is on every image that runs user
// data; nothing is installed at boot.
func awsAPI() (string, error) {
	b, err := scripts.ReadFile("scripts/awsapi.py")
	return string(b), err
}

// shellQuote quotes any value as one single-quoted shell word.
func shellQuote(v any) string {
	return "'" + strings.ReplaceAll(fmt.Sprint(v), "'", `'\''`) + "'"
}

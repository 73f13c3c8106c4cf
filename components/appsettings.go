package components

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Application settings as code.
//
// Ant Media Server keeps each application's settings in an AppSettings
// object (io.antmedia.AppSettings, JSON keys are its field names). The
// panel's POST /rest/v2/applications/settings/{app}
// (io.antmedia.console.rest.RestServiceV2.changeSettings ->
// CommonRestService.changeSettings -> AntMediaApplicationAdapter.
// updateSettings(newSettings, notifyCluster=true, checkUpdateTime=false))
// copies EVERY field of the object it receives (updateAppSettingsBean,
// setAppSettingsFieldValue), so a field the request leaves out takes the
// default of a new AppSettings(): the node reads the whole object, merges
// the managed fields and writes the whole object back.
//
// The stack renders the managed settings into one document kept in a
// SecureString parameter of each ScalingGroup (<ParameterPrefix>/
// app-settings); secret values are not in it, only the names of the
// SecureString parameters that hold them, which the node reads at apply
// time through its role. A node applies the document before it goes into
// service and its agent re-applies it when the settings drift.

// Publish and play authentication modes of ApplicationSettings.
const (
	// AuthJWT requires a JSON Web Token signed with the applications'
	// jwtStreamSecretKey (publishJwtControlEnabled / playJwtControlEnabled).
	AuthJWT = "jwt"
	// AuthNone requires nothing: for publishing, anyone who reaches the
	// cluster can push streams through it (unsafe).
	AuthNone = "none"
)

// DefaultApps are the applications of the Marketplace image, whose
// settings the stack manages unless told otherwise.
func DefaultApps() []string { return []string{"LiveApp", "WebRTCAppEE"} }

// JWTSecretParameterName is the SecureString parameter holding a stack's
// JWT stream secret (the applications' jwtStreamSecretKey), the key that
// signs publish and play tokens.
func JWTSecretParameterName(project, stack string) string {
	return fmt.Sprintf("/%s/%s/apps/jwt-stream-secret", project, stack)
}

// SecretParameter is an SSM SecureString parameter (default aws/ssm key)
// that a node reads through its role.
type SecretParameter struct {
	// Name is the parameter's name. Required.
	Name pulumi.StringInput
	// Arn is the parameter's ARN: the node role may ssm:GetParameter on it.
	// Required.
	Arn pulumi.StringInput
}

// AppSetting is one more AppSettings field the stack manages on every
// managed application.
type AppSetting struct {
	// Name is the AppSettings JSON field, e.g. "s3BucketName". Required;
	// letters and digits, starting with a letter.
	Name string
	// Value is the field's value: a string, bool, int or float64 input
	// (pulumi.String, pulumi.Bool, pulumi.Int, pulumi.Float64 or an output
	// of one, such as a bucket's name). Ignored when Secret is set.
	Value pulumi.Input
	// Secret, when set, is the SecureString parameter whose value the node
	// reads at apply time and writes into the field as a string: the value
	// never travels in user data, the settings document or logs.
	Secret *SecretParameter
}

// ApplicationSettings are the settings the stack manages on Ant Media's
// applications; every other field keeps whatever the application has
// (factory default or a value an administrator set in the panel).
type ApplicationSettings struct {
	// Apps are the applications whose settings are managed. Defaults to
	// DefaultApps(). An application missing on a node is skipped (logged).
	Apps []string
	// PublishAuth is what publishing needs: AuthJWT (publishJwtControlEnabled,
	// with publishTokenControlEnabled and enableTimeTokenForPublish off, as
	// Ant Media accepts one publish token type at a time) or AuthNone
	// (publishJwtControlEnabled off; unsafe). Defaults to AuthJWT.
	PublishAuth string
	// PlayAuth is what playing needs: AuthNone (playJwtControlEnabled off)
	// or AuthJWT (playJwtControlEnabled, with playTokenControlEnabled and
	// enableTimeTokenForPlay off). Defaults to AuthNone.
	PlayAuth string
	// JWTSecret is the SecureString parameter holding jwtStreamSecretKey (32
	// characters or more). Required when PublishAuth or PlayAuth is AuthJWT.
	JWTSecret *SecretParameter
	// WebhookURL is the applications' listenerHookURL, which Ant Media
	// POSTs stream events to (liveStreamStarted, liveStreamEnded,
	// vodReady...): an https:// URL, or empty for none. Always managed: a
	// value set in the panel is replaced. Defaults to none.
	WebhookURL string
	// Extra are further managed fields (recordings, TURN...). Defaults to none.
	Extra []AppSetting
}

// appSettingNamePattern is an AppSettings field name.
var appSettingNamePattern = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9]{0,99}$`)

// appNamePattern is an application name (CommonRestService.APP_NAME_REGEX,
// non-empty).
var appNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,100}$`)

// withDefaults applies the defaults to a copy and reports every field that
// is not acceptable, naming component.
func (s *ApplicationSettings) withDefaults(component string) (*ApplicationSettings, error) {
	if s == nil {
		return nil, nil
	}
	out := *s
	if len(out.Apps) == 0 {
		out.Apps = DefaultApps()
	}
	setDefault(&out.PublishAuth, AuthJWT)
	setDefault(&out.PlayAuth, AuthNone)
	bad := fieldErrors{component: component}
	for _, app := range out.Apps {
		if !appNamePattern.MatchString(app) {
			bad.reject("AppSettings.Apps", app, "application names of letters, digits, _ and - (CommonRestService.APP_NAME_REGEX)")
		}
	}
	for field, v := range map[string]string{"AppSettings.PublishAuth": out.PublishAuth, "AppSettings.PlayAuth": out.PlayAuth} {
		if v != AuthJWT && v != AuthNone {
			bad.reject(field, v, `"jwt" or "none"`)
		}
	}
	if (out.PublishAuth == AuthJWT || out.PlayAuth == AuthJWT) && (out.JWTSecret == nil || out.JWTSecret.Name == nil || out.JWTSecret.Arn == nil) {
		bad.reject("AppSettings.JWTSecret", "", "the name and ARN of the SecureString parameter holding jwtStreamSecretKey (required with jwt)")
	}
	if out.WebhookURL != "" {
		if err := CheckHTTPSURL(out.WebhookURL); err != nil {
			bad.reject("AppSettings.WebhookURL", out.WebhookURL, err.Error())
		}
	}
	managed := out.managedNames()
	seen := map[string]bool{}
	for _, x := range out.Extra {
		switch {
		case !appSettingNamePattern.MatchString(x.Name):
			bad.reject("AppSettings.Extra", x.Name, "an AppSettings field name (letters and digits)")
		case slices.Contains(managed, x.Name) || seen[x.Name]:
			bad.reject("AppSettings.Extra", x.Name, "a field no other managed setting sets")
		case x.Secret == nil && x.Value == nil:
			bad.reject("AppSettings.Extra", x.Name, "a Value or a Secret")
		case x.Secret != nil && (x.Secret.Name == nil || x.Secret.Arn == nil):
			bad.reject("AppSettings.Extra", x.Name, "a Secret with the parameter's name and ARN")
		}
		seen[x.Name] = true
	}
	return &out, bad.err()
}

// plainFields are the managed fields with plain values that follow from
// the typed settings (Extra aside).
func (s *ApplicationSettings) plainFields() map[string]any {
	f := map[string]any{
		"publishJwtControlEnabled": s.PublishAuth == AuthJWT,
		"playJwtControlEnabled":    s.PlayAuth == AuthJWT,
		"listenerHookURL":          s.WebhookURL,
	}
	if s.PublishAuth == AuthJWT {
		f["publishTokenControlEnabled"] = false
		f["enableTimeTokenForPublish"] = false
	}
	if s.PlayAuth == AuthJWT {
		f["playTokenControlEnabled"] = false
		f["enableTimeTokenForPlay"] = false
	}
	return f
}

// managedNames are the fields the typed settings manage, Extra aside.
func (s *ApplicationSettings) managedNames() []string {
	names := make([]string, 0, 8)
	for k := range s.plainFields() {
		names = append(names, k)
	}
	names = append(names, "jwtStreamSecretKey")
	slices.Sort(names)
	return names
}

// secretParameters are the SecureString parameters the node reads, by field.
func (s *ApplicationSettings) secretParameters() map[string]*SecretParameter {
	out := map[string]*SecretParameter{}
	if s.PublishAuth == AuthJWT || s.PlayAuth == AuthJWT {
		out["jwtStreamSecretKey"] = s.JWTSecret
	}
	for _, x := range s.Extra {
		if x.Secret != nil {
			out[x.Name] = x.Secret
		}
	}
	return out
}

// SettingsDocument is the JSON document a node applies (the value of the
// group's app-settings parameter).
type SettingsDocument struct {
	// Apps are the managed applications.
	Apps []string `json:"apps"`
	// Settings are the managed fields with their values.
	Settings map[string]any `json:"settings"`
	// Secrets are the managed fields whose values the node reads from a
	// SecureString parameter, by field: the parameter's name.
	Secrets map[string]string `json:"secrets"`
	// Server are properties of conf/red5.properties, which Ant Media reads
	// when it starts (server.statusWebHookURL).
	Server map[string]string `json:"server"`
}

// StatusWebhookProperty is the conf/red5.properties key of the server's
// status webhook (io.antmedia.settings.ServerSettings
// SETTINGS_SERVER_STATUS_WEBHOOK_URL, read by StatsCollector at start).
const StatusWebhookProperty = "server.statusWebHookURL"

// document renders the settings document, with the server's status
// webhook when statusWebhookURL is set, and lists the ARNs of the
// parameters it names.
func (s *ApplicationSettings) document(statusWebhookURL string) (pulumi.StringOutput, pulumi.StringArray) {
	plain := s.plainFields()
	secrets := s.secretParameters()
	secretFields := make([]string, 0, len(secrets))
	for f := range secrets {
		secretFields = append(secretFields, f)
	}
	slices.Sort(secretFields)
	var arns pulumi.StringArray
	inputs := []any{}
	for _, f := range secretFields {
		inputs = append(inputs, secrets[f].Name)
		arns = append(arns, secrets[f].Arn)
	}
	var extraFields []string
	for _, x := range s.Extra {
		if x.Secret == nil {
			extraFields = append(extraFields, x.Name)
			inputs = append(inputs, x.Value)
		}
	}
	apps := slices.Clone(s.Apps)
	doc := pulumi.All(inputs...).ApplyT(func(v []any) (string, error) {
		d := SettingsDocument{Apps: apps, Settings: map[string]any{}, Secrets: map[string]string{}, Server: map[string]string{}}
		if statusWebhookURL != "" {
			d.Server[StatusWebhookProperty] = statusWebhookURL
		}
		for k, val := range plain {
			d.Settings[k] = val
		}
		for i, f := range secretFields {
			name, _ := v[i].(string)
			if !parameterPrefixPattern.MatchString(name) {
				return "", fmt.Errorf("application setting %s: secret parameter %q is not an SSM parameter name", f, name)
			}
			d.Secrets[f] = name
		}
		for i, f := range extraFields {
			switch val := v[len(secretFields)+i].(type) {
			case string, bool, int, float64:
				d.Settings[f] = val
			default:
				return "", fmt.Errorf("application setting %s: a %T value; accepted: string, bool, int or float64", f, val)
			}
		}
		b, err := json.Marshal(d)
		if err != nil {
			return "", fmt.Errorf("application settings: %w", err)
		}
		// A standard parameter holds 4 KB.
		if len(b) > 4096 {
			return "", fmt.Errorf("application settings: the document is %d bytes, over a standard SSM parameter's 4096", len(b))
		}
		return string(b), nil
	}).(pulumi.StringOutput)
	return doc, arns
}

// CheckHTTPSURL reports why u is not an absolute https:// URL with a host
// and nothing a properties file or a shell could misread.
func CheckHTTPSURL(u string) error {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return fmt.Errorf("an https:// URL (%v)", err)
	case p.Scheme != "https" || p.Host == "" || p.User != nil:
		return fmt.Errorf("an https:// URL with a host and no user information, e.g. https://hooks.example.com/ams")
	case strings.ContainsAny(u, "\\ \"'`<>{}|^") || strings.IndexFunc(u, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return fmt.Errorf("an https:// URL without spaces, quotes, backslashes or control characters (percent-encode them)")
	case len(u) > 2048:
		return fmt.Errorf("an https:// URL of at most 2048 characters")
	}
	return nil
}

// newAppSettingsParameter creates the group's settings document parameter and
// returns it with the ARNs of the secret parameters the document names.
func newAppSettingsParameter(ctx *pulumi.Context, name string, a ScalingGroupArgs, tags pulumi.StringMap, opts ...pulumi.ResourceOption) (*ssm.Parameter, pulumi.StringArray, error) {
	doc, secretArns := a.AppSettings.document(a.StatusWebhookURL)
	param, err := ssm.NewParameter(ctx, name+"-app-settings", &ssm.ParameterArgs{
		Name:        pulumi.String(a.ParameterPrefix + "/app-settings"),
		Description: pulumi.Sprintf("Ant Media application settings that the %s nodes apply (names of secret parameters only)", name),
		// A webhook URL may carry a token of its own.
		Type:  pulumi.String("SecureString"),
		Value: doc,
		Tags:  tags,
	}, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("scaling group %s: application settings parameter: %w", name, err)
	}
	return param, secretArns, nil
}

package antmedia

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// Application settings as Ant-Media-Server 3.0.x keeps and changes them
// (tags ams-v3.0.2 and ams-v3.0.3):
//
//   - GET /rest/v2/applications/settings/{appname}
//     (io.antmedia.console.rest.RestServiceV2.getSettings ->
//     CommonRestService.getSettings): the application adapter's AppSettings
//     bean as Jackson writes it, every field by its name; null, which Jersey
//     answers 204 No Content, for an application the node does not run.
//   - POST /rest/v2/applications/settings/{appname} (RestServiceV2.
//     changeSettings -> CommonRestService.changeSettings ->
//     AntMediaApplicationAdapter.updateSettings(newSettings, true, false)):
//     Jackson reads the body into a NEW AppSettings (unknown keys ignored,
//     @JsonIgnoreProperties(ignoreUnknown = true)), so every field the body
//     leaves out takes the field's default; isTokenSecuritySettingsValid
//     refuses more than one publish (or play) token type and answers
//     {"success":false} without saving; updateAppSettingsBean then copies
//     EVERY field into the bean (setAppSettingsFieldValue) and sets
//     updateTime; in cluster mode the bean is saved to the cluster store
//     (IClusterStore.saveSettings); updateAppSettingsFile writes every field
//     into WEB-INF/red5-web.properties under its field name (the 3.0 keys:
//     commit cf00a1459 dropped the old settings.* keys).
//   - Both pass the panel's AuthenticationFilter only with a logged-in
//     session (or a server JWT in ProxyAuthorization when
//     server.jwtServerControlEnabled, off on the image): a GET needs scope
//     access, a POST an ADMIN of the system scope (doFilter). There is no
//     exception for localhost.
//   - In cluster mode, an application that starts reads the settings the
//     cluster store holds for it and applies them (AntMediaApplicationAdapter.
//     appStart: getClusterStore().getSettings, then updateSettings(stored,
//     false, false)), or saves its own when none are stored. How the closed
//     Enterprise ClusterNotifier passes a later change to nodes that run
//     already (registerSettingUpdateListener) is not known: the sandbox does
//     not pass it, so each node must apply the settings itself.
//
// The model keeps the fields below, with the defaults of a new AppSettings()
// (their field initializers in AppSettings.java, 3.0.3); the node's bean is
// its red5-web.properties.

// amsSettingDefaults are the modelled AppSettings fields and their defaults.
func amsSettingDefaults() map[string]any {
	return map[string]any{
		"appName":                      "",
		"appStatus":                    amsAppStatusInstalled,
		"updateTime":                   int64(0),
		"hlsMuxingEnabled":             true,
		"mp4MuxingEnabled":             false,
		"hlsListSize":                  "15",
		"hlsTime":                      "2",
		"webRTCEnabled":                true,
		"remoteAllowedCIDR":            "127.0.0.1",
		"acceptOnlyStreamsInDataStore": false,
		"publishTokenControlEnabled":   false,
		"playTokenControlEnabled":      false,
		"enableTimeTokenForPublish":    false,
		"enableTimeTokenForPlay":       false,
		"publishJwtControlEnabled":     false,
		"playJwtControlEnabled":        false,
		"jwtStreamSecretKey":           "",
		"listenerHookURL":              "",
		"s3RecordingEnabled":           false,
		"s3BucketName":                 "",
		"s3RegionName":                 "",
		"s3Permission":                 "public-read",
		"s3AccessKey":                  "",
		"s3StorageClass":               "STANDARD",
		"uploadExtensionsToS3":         int64(7),
		"stunServerURI":                "stun:stun1.l.google.com:19302",
		"turnServerUsername":           "",
		"turnServerCredential":         "",
	}
}

// amsSettingsPath prefixes /rest/v2/applications/settings/{appname}.
const amsSettingsPath = "/rest/v2/applications/settings/"

// amsSettingsEndpoints are the two methods on one path template.
func amsSettingsEndpoints() map[string]amsEndpoint {
	return map[string]amsEndpoint{
		amsSettingsPath + "{appname}":           {method: http.MethodGet, handler: (*AMSServer).getAppSettings},
		"POST " + amsSettingsPath + "{appname}": {method: http.MethodPost, json: true, handler: (*AMSServer).changeAppSettings},
	}
}

// amsSettingsEndpoint finds the settings method of a request.
func amsSettingsEndpoint(r *http.Request) (amsEndpoint, bool) {
	name, ok := strings.CutPrefix(r.URL.Path, amsSettingsPath)
	if !ok || name == "" || strings.Contains(name, "/") {
		return amsEndpoint{}, false
	}
	eps := amsSettingsEndpoints()
	if ep, ok := eps[r.Method+" "+amsSettingsPath+"{appname}"]; ok {
		return ep, true
	}
	ep, ok := eps[amsSettingsPath+"{appname}"]
	return ep, ok
}

// AppSettings reads an application's settings as the node's bean holds
// them (its red5-web.properties), for a test's assertions.
func (s *AMSServer) AppSettings(app string) (map[string]any, error) {
	return readAppSettings(s.env(), app)
}

func amsWebPropertiesPath(e *machine.Env, app string) string {
	return e.Path(amsDir + "/webapps/" + app + "/WEB-INF/red5-web.properties")
}

// readAppSettings is the bean: each modelled field from its property, else
// its default (the @Value defaults equal the field initializers here).
func readAppSettings(e *machine.Env, app string) (map[string]any, error) {
	props, err := readJavaProperties(amsWebPropertiesPath(e, app))
	if err != nil {
		return nil, err
	}
	out := amsSettingDefaults()
	for k, def := range out {
		v, ok := props[k]
		if !ok {
			continue
		}
		switch def.(type) {
		case bool:
			out[k] = v == "true"
		case int64:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("application %s: %s=%q is not a number", app, k, v)
			}
			out[k] = n
		default:
			out[k] = v
		}
	}
	if out["appName"] == "" {
		out["appName"] = app
	}
	return out, nil
}

// writeAppSettings is updateAppSettingsFile: every field under its name,
// String.valueOf of its value, the file's other keys kept (PreferenceStore).
func writeAppSettings(e *machine.Env, app string, settings map[string]any) error {
	path := amsWebPropertiesPath(e, app)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var kept []string
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		k, _, _ := strings.Cut(strings.TrimSpace(line), "=")
		if _, managed := settings[strings.TrimSpace(k)]; !managed {
			kept = append(kept, line)
		}
	}
	keys := make([]string, 0, len(settings))
	for k := range settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kept = append(kept, fmt.Sprintf("%s=%v", k, settings[k]))
	}
	return os.WriteFile(path, []byte(strings.Join(kept, "\n")+"\n"), 0o644)
}

// decodeAppSettings is Jackson reading a body into a new AppSettings: the
// defaults, overwritten by the modelled fields the body gives; a value of
// the wrong JSON type (booleans and numbers also as strings, Jackson's
// scalar coercion) is a 400.
func decodeAppSettings(body []byte) (map[string]any, error) {
	var in map[string]any
	if err := json.Unmarshal(body, &in); err != nil || in == nil {
		return nil, errAMSBadRequest
	}
	out := amsSettingDefaults()
	for k, def := range out {
		v, ok := in[k]
		if !ok || v == nil {
			continue
		}
		switch def.(type) {
		case bool:
			switch x := v.(type) {
			case bool:
				out[k] = x
			case string:
				if x != "true" && x != "false" {
					return nil, errAMSBadRequest
				}
				out[k] = x == "true"
			default:
				return nil, errAMSBadRequest
			}
		case int64:
			switch x := v.(type) {
			case float64:
				out[k] = int64(x)
			case string:
				n, err := strconv.ParseInt(x, 10, 64)
				if err != nil {
					return nil, errAMSBadRequest
				}
				out[k] = n
			default:
				return nil, errAMSBadRequest
			}
		default:
			switch x := v.(type) {
			case string:
				out[k] = x
			case float64, bool:
				out[k] = fmt.Sprint(x)
			default:
				return nil, errAMSBadRequest
			}
		}
	}
	return out, nil
}

// tokenSettingsValid is AntMediaApplicationAdapter.isTokenSecuritySettingsValid.
func tokenSettingsValid(s map[string]any) bool {
	count := func(keys ...string) int {
		n := 0
		for _, k := range keys {
			if s[k] == true {
				n++
			}
		}
		return n
	}
	return count("publishTokenControlEnabled", "publishJwtControlEnabled", "enableTimeTokenForPublish") <= 1 &&
		count("playTokenControlEnabled", "playJwtControlEnabled", "enableTimeTokenForPlay") <= 1
}

// settingsAllowed is the AuthenticationFilter's look at the session's user: a
// GET needs a user with access to the application (system scope, or the
// application's own); a POST an ADMIN of the system scope or of the
// application.
// It answers 403 itself when the user may not.
func (s *AMSServer) settingsAllowed(w http.ResponseWriter, c amsCall, method, app string) (bool, error) {
	var user amsUserDoc
	var found bool
	if err := s.storeOp(c, func(st userStore) (err error) { user, found, err = st.get(c.session); return }); err != nil {
		return false, err
	}
	system := user.Scope == "" || user.Scope == "system" || user.AppNameUserType["system"] != ""
	own := user.Scope == app || user.AppNameUserType[app] != ""
	admin := user.UserType == "ADMIN" || user.AppNameUserType["system"] == "ADMIN" || user.AppNameUserType[app] == "ADMIN"
	ok := found && (system || own) && (method == http.MethodGet || admin)
	if !ok {
		amsTomcatError(w, http.StatusForbidden, "Not allowed to access this resource. Contact system admin")
	}
	return ok, nil
}

// getAppSettings is RestServiceV2.getSettings.
func (s *AMSServer) getAppSettings(w http.ResponseWriter, r *http.Request, c amsCall) error {
	app := strings.TrimPrefix(r.URL.Path, amsSettingsPath)
	if ok, err := s.settingsAllowed(w, c, http.MethodGet, app); !ok {
		return err
	}
	s.syncApps(c.e, c.rt)
	if !amsAppDeployed(c.e, app) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	settings, err := readAppSettings(c.e, app)
	if err != nil {
		return err
	}
	amsWriteJSON(w, http.StatusOK, settings)
	return nil
}

// changeAppSettings is RestServiceV2.changeSettings.
func (s *AMSServer) changeAppSettings(w http.ResponseWriter, r *http.Request, c amsCall) error {
	app := strings.TrimPrefix(r.URL.Path, amsSettingsPath)
	if ok, err := s.settingsAllowed(w, c, http.MethodPost, app); !ok {
		return err
	}
	settings, err := decodeAppSettings(c.body)
	if err != nil {
		return err
	}
	if !amsAppDeployed(c.e, app) {
		// getApplicationContext(appname) is null: a NullPointerException.
		return fmt.Errorf("java.lang.NullPointerException: application %s", app)
	}
	if !tokenSettingsValid(settings) {
		amsLog(c.e, "INFO", "io.antmedia.AntMediaApplicationAdapter", "Could not save app settings. Only one type of token control should be enabled for publish or play.")
		amsWriteJSON(w, http.StatusOK, amsResult{})
		return nil
	}
	settings["updateTime"] = time.Now().UnixMilli()
	if c.rt.Mode == "cluster" {
		if err := s.clusterStoreOp(c.e, c.rt, func(cs *amsClusterStore) error { return cs.saveSettings(app, settings) }); err != nil {
			return err
		}
	}
	if err := writeAppSettings(c.e, app, settings); err != nil {
		return err
	}
	amsLog(c.e, "WARN", "io.antmedia.AntMediaApplicationAdapter", "app settings bean updated for %s", app)
	amsWriteJSON(w, http.StatusOK, amsResult{Success: true})
	return nil
}

// startApps (run at the first request of a run of the server, which the
// boot scripts' liveness polls make right after the start) is what each
// application's appStart does with the cluster
// store when a run of the server starts: stored settings (the whole
// AppSettings document, its fields at the top level as Morphia maps them)
// are applied to the node's bean and file, fields the document lacks taking
// their defaults. An application with none stores its own at the cluster
// notifier's next look (syncApps).
func (s *AMSServer) startApps(e *machine.Env, rt amsRuntime) {
	if rt.Mode != "cluster" {
		return
	}
	s.appsMu.Lock()
	if s.startedBoot == rt.BootID {
		s.appsMu.Unlock()
		return
	}
	s.startedBoot = rt.BootID
	s.appsMu.Unlock()
	err := s.clusterStoreOp(e, rt, func(cs *amsClusterStore) error {
		docs, err := cs.all()
		if err != nil {
			return err
		}
		stored := map[string]map[string]any{}
		for _, d := range docs {
			name, _ := d["appName"].(string)
			stored[name] = d
		}
		for _, app := range amsDeployedApps(e) {
			settings, ok := stored[app]
			if !ok {
				continue
			}
			b, _ := json.Marshal(settings)
			bean, err := decodeAppSettings(b)
			if err != nil {
				return fmt.Errorf("stored settings of %s: %w", app, err)
			}
			if err := writeAppSettings(e, app, bean); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		amsLog(e, "ERROR", "io.antmedia.AntMediaApplicationAdapter", "%v", err)
	}
}

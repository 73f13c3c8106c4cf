package antmedia

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox/machine"
)

// AMSServer is a node's Ant Media Server as its REST API answers on port
// 5080: the web panel's endpoints the boot scripts use, behind the panel's
// AuthenticationFilter. It answers only while antmedia.service runs, with
// the settings the service read when it started.
type AMSServer struct {
	env func() *machine.Env
	// version is the Ant Media Server version of the image.
	version string
	srv     *httptest.Server
	gate    machine.Gate

	// store serializes the store methods as the JVM's synchronized methods do.
	store sync.Mutex
	// beforeAdd, when set by a test, runs in addInitialUser between the count
	// and the insert.
	BeforeAdd func()

	// loads are the node's live streams over time (antmedia_streams.go).
	loadsMu sync.Mutex
	loads   []amsLoad

	mu       sync.Mutex
	requests []AMSRequest
	bootID   string // the run of the JVM that sessions and logins belong to
	sessions map[string]string
	logins   map[string]*loginAttempts

	// appsMu serializes application creation, as AdminApplication's
	// currentApplicationCreationProcesses does, and the cluster look-ups
	// (antmedia_apps.go).
	appsMu     sync.Mutex
	syncedBoot string // the run of the JVM the last look belongs to
	nextSync   int    // virtual second of the next look

	// startedBoot is the run of the JVM whose applications read the
	// cluster's stored settings (appsettings.go).
	startedBoot string

	// stopRecorder ends the recorder StartRecorder started (recordings.go).
	stopRecorder chan struct{}
}

// AMSRequest is one HTTP request the server got.
type AMSRequest struct {
	Method, Path string
	// Status is the HTTP status answered; 0 when the server was not
	// answering and the connection was closed.
	Status int
	// By is "init.sh" for the image's first-boot step, "" for scripts.
	By string
}

// loginAttempts is AbstractConsoleDataStore's in-memory invalid-login
// book-keeping for one e-mail.
type loginAttempts struct {
	invalid   int
	blocked   bool
	blockedAt int
}

// Login rules of CommonRestService.authenticateUser.
const (
	amsAllowedLoginAttempts = 2   // ALLOWED_LOGIN_ATTEMPTS
	amsBlockedLoginSeconds  = 300 // BLOCKED_LOGIN_TIMEOUT_SECS
)

// NewServer starts the REST server of an AMS node; t.Cleanup closes it.
func NewServer(t testing.TB, env func() *machine.Env, version string) *AMSServer {
	s := &AMSServer{env: env, version: version}
	s.srv = s.gate.Serve(s)
	t.Cleanup(s.Close)
	return s
}

// URL is where the server answers (http://127.0.0.1:5080 on the node).
func (s *AMSServer) URL() string { return s.srv.URL }

// SetActivity reports each request the server answers to act.
func (s *AMSServer) SetActivity(act machine.Activity) { s.gate.Set(act) }

// Close stops the server.
func (s *AMSServer) Close() {
	s.srv.Close()
	s.stopRecording()
}

// Requests lists the requests the server got, in order.
func (s *AMSServer) Requests() []AMSRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]AMSRequest(nil), s.requests...)
}

// Users lists the users of the store the server uses now: the one it was
// started with, or, before its first start, the one its files name.
func (s *AMSServer) Users() ([]AMSUser, error) {
	e := s.env()
	rt, err := loadAMSRuntime(e)
	if err != nil {
		return nil, err
	}
	if rt.BootID == "" {
		if rt, err = ReadAMSConfig(e); err != nil {
			return nil, err
		}
	}
	st, err := storeFor(e, rt)
	if err != nil {
		return nil, err
	}
	docs, err := st.list()
	if err != nil {
		return nil, err
	}
	out := make([]AMSUser, 0, len(docs))
	for _, d := range docs {
		out = append(out, d.user())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Email < out[j].Email })
	return out, nil
}

func (s *AMSServer) record(r AMSRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

// ServeHTTP answers a request as Tomcat on port 5080 would.
func (s *AMSServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := s.env()
	rt, err := loadAMSRuntime(e)
	if err != nil || !rt.Running || e.Now() < rt.ReadyAt {
		s.record(AMSRequest{Method: r.Method, Path: r.URL.Path})
		amsHangUp(w)
		return
	}
	s.newJVM(rt.BootID)
	s.firstBoot(e, rt)
	s.startApps(e, rt)
	s.syncApps(e, rt)
	// The ClusterNotifier's heartbeat (cluster.go); a failure is its log line.
	_ = s.registerClusterNode(e, rt)
	rec := &amsStatusRecorder{ResponseWriter: w, status: http.StatusOK}
	s.route(rec, r, e, rt)
	s.record(AMSRequest{Method: r.Method, Path: r.URL.Path, Status: rec.status})
}

// amsHangUp closes the connection without an answer: to curl, the port is
// not open.
func amsHangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// newJVM forgets sessions and login counters when the service restarted.
func (s *AMSServer) newJVM(bootID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bootID != bootID {
		s.bootID = bootID
		s.sessions = map[string]string{}
		s.logins = map[string]*loginAttempts{}
	}
}

type amsStatusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *amsStatusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// amsEndpoint is one REST method of the web panel.
type amsEndpoint struct {
	method string
	// open paths pass the AuthenticationFilter without a session.
	open bool
	// json methods are @Consumes(MediaType.APPLICATION_JSON) with a body.
	json    bool
	handler func(s *AMSServer, w http.ResponseWriter, r *http.Request, c amsCall) error
}

// amsCall is what a REST method sees of its request.
type amsCall struct {
	e       *machine.Env
	rt      amsRuntime
	store   userStore
	session string // e-mail of the authenticated session, if any
	body    []byte
}

// amsEndpoints are the REST methods modelled, by request URI
// (Ant-Media-Server io.antmedia.console.rest.RestServiceV2, @Path("/v2")
// under the servlet mapping /rest/* of webapps/root/WEB-INF/web.xml). The
// open ones are those AuthenticationFilter.doFilter lets through without
// a session ("/rest/v2/users/initial", "/rest/v2/first-login-status",
// "/rest/v2/users/authenticate", "/rest/v2/liveness",
// "/rest/v2/authentication-status").
func amsEndpoints() map[string]amsEndpoint {
	return map[string]amsEndpoint{
		"/rest/v2/liveness":              {method: http.MethodGet, open: true, handler: (*AMSServer).liveness},
		"/rest/v2/first-login-status":    {method: http.MethodGet, open: true, handler: (*AMSServer).firstLoginStatus},
		"/rest/v2/users/initial":         {method: http.MethodPost, open: true, json: true, handler: (*AMSServer).addInitialUser},
		"/rest/v2/users/authenticate":    {method: http.MethodPost, open: true, json: true, handler: (*AMSServer).authenticateUser},
		"/rest/v2/authentication-status": {method: http.MethodGet, open: true, handler: (*AMSServer).authenticationStatus},
		"/rest/v2/user-list":             {method: http.MethodGet, handler: (*AMSServer).userList},
	}
}

// route applies the AuthenticationFilter (exact request URI match), then
// Jersey's matching (404, 405, 415), then the method.
func (s *AMSServer) route(w http.ResponseWriter, r *http.Request, e *machine.Env, rt amsRuntime) {
	if s.serveApp(w, r, e) {
		return
	}
	ep, known := amsEndpoints()[r.URL.Path]
	if !known {
		ep, known = amsAppEndpoints()[amsEndpointKey(r.URL.Path)]
	}
	if !known {
		ep, known = amsSettingsEndpoint(r)
	}
	if !known {
		ep, known = amsClusterEndpoints()[amsClusterEndpointKey(r.URL.Path)]
	}
	c := amsCall{e: e, rt: rt, session: s.sessionUser(r)}
	if !(known && ep.open) && strings.HasPrefix(r.URL.Path, "/rest/") && c.session == "" {
		// AuthenticationFilter.doFilter: sendError(SC_FORBIDDEN, "Not authenticated user").
		amsTomcatError(w, http.StatusForbidden, "Not authenticated user")
		return
	}
	if !known {
		amsTomcatError(w, http.StatusNotFound, "The requested resource ["+r.URL.Path+"] is not available")
		return
	}
	if r.Method != ep.method {
		amsTomcatError(w, http.StatusMethodNotAllowed, "HTTP 405 Method Not Allowed")
		return
	}
	if ep.json {
		// A request without Content-Type matches any @Consumes (JAX-RS).
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "" && mt != "application/json" {
			amsTomcatError(w, http.StatusUnsupportedMediaType, "HTTP 415 Unsupported Media Type")
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			amsTomcatError(w, http.StatusBadRequest, "HTTP 400 Bad Request")
			return
		}
		c.body = body
	}
	st, err := storeFor(e, rt)
	if err == nil {
		c.store = st
	}
	if err := ep.handler(s, w, r, c); err != nil {
		s.serverError(w, c, err)
	}
}

// errAMSBadRequest is a body Jackson cannot read into the method's parameter.
var errAMSBadRequest = errors.New("HTTP 400 Bad Request")

// serverError answers an exception a REST method threw: Jersey passes it
// to Tomcat, which answers 500 with its error page. A MongoDB server that
// cannot be reached takes the driver's server selection timeout first.
func (s *AMSServer) serverError(w http.ResponseWriter, c amsCall, err error) {
	if errors.Is(err, errAMSBadRequest) {
		amsTomcatError(w, http.StatusBadRequest, err.Error())
		return
	}
	if errors.Is(err, errStoreTimeout) {
		wait := serverSelectionTimeout(mongoConnectionURI(c.rt.ConsoleDBHost))
		time.Sleep(time.Duration(wait.Seconds() * float64(c.e.Node.ClockScale)))
	}
	amsTomcatError(w, http.StatusInternalServerError, err.Error())
}

// amsTomcatError writes Tomcat's HTML error report (ErrorReportValve).
func amsTomcatError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "text/html;charset=utf-8")
	w.WriteHeader(status)
	title := fmt.Sprintf("HTTP Status %d – %s", status, http.StatusText(status))
	fmt.Fprintf(w, "<!doctype html><html lang=\"en\"><head><title>%s</title></head><body><h1>%s</h1><hr class=\"line\" /><p><b>Type</b> Status Report</p><p><b>Message</b> %s</p><hr class=\"line\" /><h3>Apache Tomcat</h3></body></html>",
		title, title, amsHTMLEscape(message))
}

func amsHTMLEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// amsResult is io.antmedia.rest.model.Result as Jackson writes it.
type amsResult struct {
	Success bool   `json:"success"`
	Message string `json:"message"`
	DataID  string `json:"dataId"`
	ErrorID int    `json:"errorId"`
}

func amsWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// liveness is RestServiceV2.liveness: {"host":<hostname>,"status":"ok"}; it
// touches no database.
func (s *AMSServer) liveness(w http.ResponseWriter, _ *http.Request, c amsCall) error {
	amsWriteJSON(w, http.StatusOK, map[string]string{"host": c.rt.Hostname, "status": "ok"})
	return nil
}

// storeOp runs one synchronized method of the server's store.
func (s *AMSServer) storeOp(c amsCall, op func(st userStore) error) error {
	if c.store == nil {
		_, err := storeFor(c.e, c.rt)
		return err
	}
	s.store.Lock()
	defer s.store.Unlock()
	return op(c.store)
}

// firstLoginStatus is CommonRestService.isFirstLogin: success is true while
// the store has no user.
func (s *AMSServer) firstLoginStatus(w http.ResponseWriter, _ *http.Request, c amsCall) error {
	var n int
	if err := s.storeOp(c, func(st userStore) (err error) { n, err = st.count(); return }); err != nil {
		return err
	}
	amsWriteJSON(w, http.StatusOK, amsResult{Success: n == 0})
	return nil
}

// amsUserBody is the User that Jackson reads from a request body.
type amsUserBody struct {
	Email           *string           `json:"email"`
	Password        *string           `json:"password"`
	UserType        *string           `json:"userType"`
	Scope           *string           `json:"scope"`
	AppNameUserType map[string]string `json:"appNameUserType"`
}

// decodeAMSUser reads a User: an empty body or null is no user; a userType
// outside the UserType enum (ADMIN, READ_ONLY, USER) is a 400.
func decodeAMSUser(body []byte) (*amsUserBody, error) {
	if strings.TrimSpace(string(body)) == "" {
		return nil, nil
	}
	var u *amsUserBody
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, fmt.Errorf("%w: %v", errAMSBadRequest, err)
	}
	if u != nil && u.UserType != nil {
		switch *u.UserType {
		case "ADMIN", "READ_ONLY", "USER":
		default:
			return nil, fmt.Errorf("%w: userType %q is not one of the values accepted for Enum class UserType", errAMSBadRequest, *u.UserType)
		}
	}
	return u, nil
}

// errAMSNullPointer is what the Java methods throw on a missing user or password.
var errAMSNullPointer = errors.New("java.lang.NullPointerException")

// addInitialUser is CommonRestService.addInitialUser: it stores the MD5 of
// the password sent, as an ADMIN of scope system, only while the store is
// empty. The count and the insert are two store calls: nothing holds them
// together, on one server or across the cluster.
func (s *AMSServer) addInitialUser(w http.ResponseWriter, _ *http.Request, c amsCall) error {
	u, err := decodeAMSUser(c.body)
	if err != nil {
		return err
	}
	if u == nil || u.Password == nil {
		return fmt.Errorf("%w: getMD5Hash(null)", errAMSNullPointer)
	}
	doc := amsUserDoc{Password: amsMD5(*u.Password), UserType: "ADMIN", Scope: "system",
		AppNameUserType: map[string]string{"system": "ADMIN"}}
	if u.Email != nil {
		doc.Email = *u.Email
	}
	ok, err := s.addIfEmpty(c, doc)
	if err != nil {
		return err
	}
	amsWriteJSON(w, http.StatusOK, amsResult{Success: ok, ErrorID: -1})
	return nil
}

func (s *AMSServer) addIfEmpty(c amsCall, doc amsUserDoc) (bool, error) {
	var n int
	if err := s.storeOp(c, func(st userStore) (err error) { n, err = st.count(); return }); err != nil {
		return false, err
	}
	if n != 0 {
		return false, nil
	}
	if s.BeforeAdd != nil {
		s.BeforeAdd()
	}
	var ok bool
	err := s.storeOp(c, func(st userStore) (err error) { ok, err = st.add(doc); return })
	return ok, err
}

// authenticateUser is CommonRestService.authenticateUser: with md5 the MD5
// of the password sent, a user matches when its stored password is md5 or
// the MD5 of md5. More than ALLOWED_LOGIN_ATTEMPTS failures block the
// e-mail for BLOCKED_LOGIN_TIMEOUT_SECS. Success opens a session.
func (s *AMSServer) authenticateUser(w http.ResponseWriter, _ *http.Request, c amsCall) error {
	u, err := decodeAMSUser(c.body)
	if err != nil {
		return err
	}
	if u == nil || u.Email == nil {
		amsWriteJSON(w, http.StatusOK, amsResult{})
		return nil
	}
	email := *u.Email
	if msg, blocked := s.blocked(email, c.e.Now()); blocked {
		amsWriteJSON(w, http.StatusOK, amsResult{Message: msg})
		return nil
	}
	if u.Password == nil {
		return fmt.Errorf("%w: getMD5Hash(null)", errAMSNullPointer)
	}
	md5 := amsMD5(*u.Password)
	var found bool
	var user amsUserDoc
	err = s.storeOp(c, func(st userStore) error {
		ok, err := st.exists(email, md5)
		if err == nil && !ok {
			ok, err = st.exists(email, amsMD5(md5))
		}
		if err == nil && ok {
			user, found, err = st.get(email)
		}
		return err
	})
	if err != nil {
		return err
	}
	if !found {
		s.loginFailed(email, c.e.Now())
		amsWriteJSON(w, http.StatusOK, amsResult{})
		return nil
	}
	s.loginSucceeded(w, email)
	amsWriteJSON(w, http.StatusOK, amsResult{Success: true, Message: amsLoginMessage(user)})
	return nil
}

// amsLoginMessage is the message of a successful login: "<scope>/<userType>",
// else the appNameUserType map as JSON.
func amsLoginMessage(u amsUserDoc) string {
	if u.Scope != "" && u.UserType != "" {
		return u.Scope + "/" + u.UserType
	}
	if u.AppNameUserType != nil {
		b, _ := json.Marshal(u.AppNameUserType)
		return string(b)
	}
	return ""
}

func (s *AMSServer) blocked(email string, now int) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.logins[email]
	if a == nil || !a.blocked {
		return "", false
	}
	if now-a.blockedAt > amsBlockedLoginSeconds {
		*a = loginAttempts{}
		return "", false
	}
	return fmt.Sprintf("Too many login attempts. User is blocked for %d secs", amsBlockedLoginSeconds), true
}

func (s *AMSServer) loginFailed(email string, now int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.logins[email]
	if a == nil {
		a = &loginAttempts{}
		s.logins[email] = a
	}
	a.invalid++
	if a.invalid > amsAllowedLoginAttempts {
		a.blocked, a.blockedAt = true, now
	}
}

func (s *AMSServer) loginSucceeded(w http.ResponseWriter, email string) {
	id := newAMSObjectID()
	s.mu.Lock()
	s.sessions[id] = email
	delete(s.logins, email)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id, Path: "/", HttpOnly: true})
}

func (s *AMSServer) sessionUser(r *http.Request) string {
	ck, err := r.Cookie("JSESSIONID")
	if err != nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[ck.Value]
}

// authenticationStatus is CommonRestService.isAuthenticatedRest.
func (s *AMSServer) authenticationStatus(w http.ResponseWriter, _ *http.Request, c amsCall) error {
	amsWriteJSON(w, http.StatusOK, amsResult{Success: c.session != ""})
	return nil
}

// userList is RestServiceV2.getUserList; passwords are write-only
// (@JsonProperty(access = WRITE_ONLY)) and never listed.
func (s *AMSServer) userList(w http.ResponseWriter, _ *http.Request, c amsCall) error {
	var docs []amsUserDoc
	if err := s.storeOp(c, func(st userStore) (err error) { docs, err = st.list(); return }); err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(docs))
	for _, d := range docs {
		out = append(out, map[string]any{"email": d.Email, "userType": d.UserType, "scope": d.Scope, "appNameUserType": d.AppNameUserType})
	}
	amsWriteJSON(w, http.StatusOK, out)
	return nil
}

// firstBoot is the Marketplace image's first-boot step (ant-media/Scripts
// init.sh), run while conf/initialized is absent: once the server answers,
// it adds "<ip> <hostname>" to /etc/hosts, and if first-login-status is
// true, POSTs users/initial as "JamesBond" with the MD5 hex of the instance
// ID as password; it touches conf/initialized when the server has a user
// (its own or another's) and tries again later otherwise.
func (s *AMSServer) firstBoot(e *machine.Env, rt amsRuntime) {
	marker := e.Path(amsDir + "/conf/initialized")
	if _, err := os.Stat(marker); err == nil {
		return
	}
	_ = addHostsLine(e, e.Node.PrivateIP+" "+rt.Hostname)
	st, err := storeFor(e, rt)
	c := amsCall{e: e, rt: rt, store: st}
	if err != nil {
		s.record(AMSRequest{Method: http.MethodGet, Path: "/rest/v2/first-login-status", Status: http.StatusInternalServerError, By: "init.sh"})
		return
	}
	var n int
	err = s.storeOp(c, func(st userStore) (err error) { n, err = st.count(); return })
	s.record(AMSRequest{Method: http.MethodGet, Path: "/rest/v2/first-login-status", Status: amsStatusOf(err), By: "init.sh"})
	if err != nil {
		return
	}
	if n == 0 {
		doc := amsUserDoc{Email: "JamesBond", Password: amsMD5(amsMD5(e.Node.InstanceID)), UserType: "ADMIN", Scope: "system",
			AppNameUserType: map[string]string{"system": "ADMIN"}}
		ok, err := s.addIfEmpty(c, doc)
		s.record(AMSRequest{Method: http.MethodPost, Path: "/rest/v2/users/initial", Status: amsStatusOf(err), By: "init.sh"})
		if err != nil || !ok {
			return
		}
	}
	_ = os.WriteFile(marker, nil, 0o644)
}

func amsStatusOf(err error) int {
	if err != nil {
		return http.StatusInternalServerError
	}
	return http.StatusOK
}

// addHostsLine appends line to /etc/hosts unless it is there already
// (init.sh: grep -Fxq "$HOST_LINE" /etc/hosts || echo "$HOST_LINE" | tee -a /etc/hosts).
func addHostsLine(e *machine.Env, line string) error {
	path := e.Path("/etc/hosts")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading hosts: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l == line {
			return nil
		}
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing hosts: %w", err)
	}
	defer f.Close()
	_, err = f.WriteString(line + "\n")
	return err
}

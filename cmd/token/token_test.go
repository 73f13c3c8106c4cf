package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ams-cluster/ams-aws/internal/sandbox"
	"github.com/ams-cluster/ams-aws/internal/sandbox/antmedia"
	"github.com/ams-cluster/ams-aws/internal/streamtoken"
)

const secret = "0123456789abcdefghijklmnopqrstuvwxyzABCD"

var noAWS runner = func(context.Context, string, ...string) ([]byte, error) {
	return nil, errors.New("the AWS CLI must not run")
}

// mint runs the command with the key on standard input and returns what it printed.
func mint(t *testing.T, now time.Time, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	args = append([]string{"-secret-from-stdin"}, args...)
	if code := run(args, strings.NewReader(secret+"\n"), &out, &errOut, noAWS, func() time.Time { return now }); code != 0 {
		t.Fatalf("token %v: exit %d: %s", args, code, errOut.String())
	}
	return out.String()
}

// TestMintedTokenPassesTheStandInsRule checks the minted token against the
// Ant Media stand-in's JWT rule: accepted for its stream and type until it
// expires, refused for another stream, the other type or another key.
func TestMintedTokenPassesTheStandInsRule(t *testing.T) {
	now := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC)
	tok := strings.TrimSpace(mint(t, now, "-stream", "stream1", "-ttl", "12h", "-token-only"))
	for _, tc := range []struct {
		name, stream, typ, key string
		at                     time.Time
		ok                     bool
	}{
		{"its stream, within the ttl", "stream1", antmedia.TokenPublish, secret, now.Add(12*time.Hour - time.Second), true},
		{"at expiry", "stream1", antmedia.TokenPublish, secret, now.Add(12 * time.Hour), false},
		{"another stream", "stream2", antmedia.TokenPublish, secret, now, false},
		{"to play", "stream1", antmedia.TokenPlay, secret, now, false},
		{"another key", "stream1", antmedia.TokenPublish, strings.ToUpper(secret), now, false},
	} {
		err := antmedia.CheckStreamToken(tok, tc.key, tc.stream, tc.typ, tc.at)
		if tc.ok != (err == nil) {
			t.Errorf("%s: got %v, want accepted=%v", tc.name, err, tc.ok)
		}
	}
	play := strings.TrimSpace(mint(t, now, "-stream", "stream1", "-type", "play", "-token-only"))
	if err := antmedia.CheckStreamToken(play, secret, "stream1", antmedia.TokenPlay, now); err != nil {
		t.Errorf("play token: %v", err)
	}
}

// TestPrintedFormsPublishOnANode publishes with each line the command
// prints, as the encoder or page would use it, on a sandbox node whose
// WebRTCAppEE wants JWT publish tokens: every form is accepted.
func TestPrintedFormsPublishOnANode(t *testing.T) {
	sandbox.Require(t)
	w := sandbox.NewWorld(t, "eu-west-1", "123456789012")
	n := w.NewNode(sandbox.NodeSpec{InstanceID: "i-0t1", PrivateIP: "10.0.1.31", Image: sandbox.ImageAMS})
	props := n.Path("/usr/local/antmedia/webapps/WebRTCAppEE/WEB-INF/red5-web.properties")
	b, err := os.ReadFile(props)
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "publishJwtControlEnabled=true\njwtStreamSecretKey="+secret+"\n"...)
	if err := os.WriteFile(props, b, 0o644); err != nil {
		t.Fatal(err)
	}
	waitServing(t, n)
	ams := n.AMS()
	out := mint(t, ams.WallClock(), "-stream", "stream1", "-ttl", "1h", "-web", "https://live.example.com", "-ingest", "ingest.live.example.com")
	lines := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "  "); ok {
			lines[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	for _, form := range []string{"RTMP (ffmpeg)", "SRT", "WebRTC page"} {
		if err := ams.PublishURL(lines[form]); err != nil {
			t.Errorf("%s %s: %v", form, lines[form], err)
		}
	}
	obs := regexp.MustCompile(`^Server: rtmp://[^/]+/(\S+)\s+Stream Key: (\S+)$`).FindStringSubmatch(lines["RTMP (OBS)"])
	if obs == nil {
		t.Fatalf("OBS line %q: want Server: rtmp://host/App  Stream Key: key", lines["RTMP (OBS)"])
	}
	if err := ams.PublishRTMP(obs[1], obs[2]); err != nil {
		t.Errorf("OBS server %s key %s: %v", obs[1], obs[2], err)
	}
	// Without the token the same URL is refused: the forms, not luck, carry it.
	if err := ams.PublishURL(strings.Split(lines["RTMP (ffmpeg)"], "?")[0]); !errors.Is(err, antmedia.ErrNotAllowed) {
		t.Errorf("RTMP without the token: got %v, want refused", err)
	}
}

// waitServing moves the node's clock until its Ant Media server answers.
func waitServing(t *testing.T, n *sandbox.Node) {
	t.Helper()
	for i := 0; i < 120; i++ {
		if _, err := n.AMS().Apps(); err == nil {
			return
		}
		if err := n.Env().Advance(1); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("Ant Media never answered")
}

// TestOutputFormat pins the report's lines, publish and play.
func TestOutputFormat(t *testing.T) {
	now := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC)
	out := mint(t, now, "-stream", "cam-7", "-app", "LiveApp", "-ttl", "90m", "-web", "https://live.example.com/", "-ingest", "ingest.live.example.com")
	tok := strings.Fields(strings.SplitN(out, "\n", 2)[0])[1]
	want := "token    " + tok + "\n" +
		"stream   LiveApp/cam-7 (publish)\n" +
		"expires  2026-12-03T20:30:00Z (in 1h30m0s)\n\n" +
		"RTMP (ffmpeg)  rtmp://ingest.live.example.com/LiveApp/cam-7?token=" + tok + "\n" +
		"RTMP (OBS)     Server: rtmp://ingest.live.example.com/LiveApp   Stream Key: cam-7?token=" + tok + "\n" +
		"SRT            srt://ingest.live.example.com:4200?streamid=LiveApp/cam-7,token=" + tok + "\n" +
		"WebRTC page    https://live.example.com/LiveApp/?id=cam-7&token=" + tok + "\n"
	if out != want {
		t.Errorf("publish report:\ngot:\n%s\nwant:\n%s", out, want)
	}
	out = mint(t, now, "-stream", "cam-7", "-type", "play", "-ttl", "1h", "-web", "https://live.example.com", "-play", "https://live.example.com:5443")
	tok = strings.Fields(strings.SplitN(out, "\n", 2)[0])[1]
	for _, line := range []string{
		"WebRTC player  https://live.example.com:5443/WebRTCAppEE/play.html?id=cam-7&token=" + tok,
		"HLS            https://live.example.com:5443/WebRTCAppEE/streams/cam-7.m3u8?token=" + tok,
	} {
		if !strings.Contains(out, line+"\n") {
			t.Errorf("play report lacks %q:\n%s", line, out)
		}
	}
}

// TestReadsKeyThroughAWSCLI checks the AWS CLI call: the stack's parameter,
// decrypted, the value on standard output and never on a command line.
func TestReadsKeyThroughAWSCLI(t *testing.T) {
	var got []string
	aws := func(_ context.Context, name string, args ...string) ([]byte, error) {
		got = append([]string{name}, args...)
		return []byte(secret + "\n"), nil
	}
	var out, errOut bytes.Buffer
	code := run([]string{"-stack", "prod", "-stream", "stream1", "-region", "eu-west-1", "-token-only"}, strings.NewReader(""), &out, &errOut, aws, time.Now)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	want := []string{"aws", "ssm", "get-parameter", "--name", "/ams-cluster/prod/apps/jwt-stream-secret", "--with-decryption",
		"--query", "Parameter.Value", "--output", "text", "--region", "eu-west-1"}
	if !slices.Equal(got, want) {
		t.Errorf("AWS CLI call: got %q, want %q", got, want)
	}
	if err := antmedia.CheckStreamToken(strings.TrimSpace(out.String()), secret, "stream1", antmedia.TokenPublish, time.Now()); err != nil {
		t.Errorf("token signed with the parameter's key: %v", err)
	}
}

// TestBadFlagsAllReported checks that every bad flag is reported at once.
func TestBadFlagsAllReported(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-stream", "a/b", "-type", "view", "-ttl", "-1h", "-app", "Live App"}, strings.NewReader(""), &out, &errOut, noAWS, time.Now)
	if code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	for _, want := range []string{`-stream "a/b"`, `-type "view"`, "-ttl -1h0m0s", `-app "Live App"`, "-stack (or -parameter"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("errors lack %q: %s", want, errOut.String())
		}
	}
	code = run([]string{"-secret-from-stdin", "-stream", "s"}, strings.NewReader("too-short"), &out, &errOut, noAWS, time.Now)
	if code != 1 || !strings.Contains(errOut.String(), "32 or more") {
		t.Errorf("short key: exit %d, %s; want 1 and the 32-character rule", code, errOut.String())
	}
}

// TestREADMEShowsThePrintedForms checks that the README's samples of the
// command's report, for a publish token and for a play token, are what
// the command prints for their hosts.
func TestREADMEShowsThePrintedForms(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		typ   string
		hosts streamtoken.Hosts
		lines int
	}{
		{streamtoken.TypePublish, streamtoken.Hosts{Web: "https://live.example.com", Ingest: "ingest.live.example.com"}, 4},
		{streamtoken.TypePlay, streamtoken.Hosts{Web: "https://live.example.com", Play: "https://live.example.com:5443"}, 2},
	} {
		report := streamtoken.Describe("TOKEN", "WebRTCAppEE", "stream1", tc.typ, time.Now(), time.Hour, tc.hosts)
		var forms []string
		for _, l := range strings.Split(report, "\n") {
			if strings.HasPrefix(l, "RTMP") || strings.HasPrefix(l, "SRT") || strings.HasPrefix(l, "WebRTC") || strings.HasPrefix(l, "HLS") {
				forms = append(forms, l)
			}
		}
		if len(forms) != tc.lines {
			t.Fatalf("%s report has %d URL lines, want %d:\n%s", tc.typ, len(forms), tc.lines, report)
		}
		for _, l := range forms {
			if !strings.Contains(string(b), "\n"+l+"\n") {
				t.Errorf("README lacks the %s line %q", tc.typ, l)
			}
		}
	}
}

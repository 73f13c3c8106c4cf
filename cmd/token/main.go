// Command token mints a JWT that lets an encoder publish (or a player play)
// one stream of one application of a stack's Ant Media cluster, and prints
// it with the URLs that carry it: RTMP for ffmpeg and OBS, SRT, and the
// application's WebRTC publish page (or, for a play token, the WebRTC
// player and HLS).
//
// Usage:
//
//	go run ./cmd/token -stack prod -stream stream1 -ttl 12h
//	go run ./cmd/token -stack prod -stream stream1 -type play -ttl 1h
//	go run ./cmd/token -stack prod -stream cam7 -app LiveApp -web https://live.example.com -ingest ingest.live.example.com
//	... | go run ./cmd/token -secret-from-stdin -stream stream1
//
// The key is the applications' jwtStreamSecretKey, a SecureString
// parameter of the stack (/ams-cluster/<stack>/apps/jwt-stream-secret
// unless -parameter names another). The command reads it with the AWS CLI
// (aws ssm get-parameter --with-decryption, the caller's credentials and
// region, or -region), the value passing through a pipe, never a command
// line; or from standard input with -secret-from-stdin. The stack output
// publishTokenCommand is this command with the stack's hosts filled in.
//
// The token is what Ant Media's JWT stream security checks (see
// internal/sandbox/antmedia jwt.go): HS256 under the key, with the claims
// streamId, type ("publish" or "play") and exp (Unix seconds).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/ams-cluster/ams-aws/internal/streamtoken"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, awsCLI, time.Now))
}

// runner runs a program with arguments and returns its standard output.
type runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// awsCLI runs a program, its standard error passed through.
func awsCLI(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stderr = os.Stderr
	return cmd.Output()
}

// options are the command's flags.
type options struct {
	stack, stream, app, typ    string
	ttl                        time.Duration
	parameter, region          string
	web, play, ingest          string
	secretFromStdin, tokenOnly bool
}

// run is the command with its arguments, streams, AWS CLI and clock; it
// returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, aws runner, now func() time.Time) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 2
	}
	secret, err := readSecret(o, stdin, aws)
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 1
	}
	exp := now().Add(o.ttl)
	tok, err := streamtoken.Mint(secret, streamtoken.Claims{StreamID: o.stream, Type: o.typ, Expires: exp})
	if err != nil {
		fmt.Fprintf(stderr, "token: %v\n", err)
		return 1
	}
	if o.tokenOnly {
		fmt.Fprintln(stdout, tok)
		return 0
	}
	fmt.Fprint(stdout, streamtoken.Describe(tok, o.app, o.stream, o.typ, exp, o.ttl, streamtoken.Hosts{Web: o.web, Play: o.play, Ingest: o.ingest}))
	return 0
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.stack, "stack", "", "the stack whose key signs the token (names the parameter /ams-cluster/<stack>/apps/jwt-stream-secret)")
	fs.StringVar(&o.stream, "stream", "", "the stream id the token is for (required)")
	fs.StringVar(&o.app, "app", "WebRTCAppEE", "the Ant Media application")
	fs.StringVar(&o.typ, "type", streamtoken.TypePublish, "publish or play")
	fs.DurationVar(&o.ttl, "ttl", 12*time.Hour, "how long the token is valid")
	fs.StringVar(&o.parameter, "parameter", "", "the SSM parameter holding the key (default: the stack's)")
	fs.StringVar(&o.region, "region", "", "the AWS region of the parameter (default: the AWS CLI's)")
	fs.StringVar(&o.web, "web", "", "the stack's publish `URL` base, e.g. https://live.example.com (the publishUrl output without the application)")
	fs.StringVar(&o.play, "play", "", "the stack's play `URL` base, e.g. https://live.example.com:5443 (default: -web)")
	fs.StringVar(&o.ingest, "ingest", "", "the stack's RTMP/SRT ingest `host`, e.g. ingest.live.example.com")
	fs.BoolVar(&o.secretFromStdin, "secret-from-stdin", false, "read the key from standard input instead of SSM")
	fs.BoolVar(&o.tokenOnly, "token-only", false, "print only the token")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var bad []string
	if fs.NArg() > 0 {
		bad = append(bad, fmt.Sprintf("unexpected arguments %q", fs.Args()))
	}
	if !streamIDPattern.MatchString(o.stream) {
		bad = append(bad, fmt.Sprintf("-stream %q: want letters, digits, '.', '_' or '-' (the URLs carry the id as it is)", o.stream))
	}
	if !appNamePattern.MatchString(o.app) {
		bad = append(bad, fmt.Sprintf("-app %q: want letters, digits, '_' or '-' (Ant Media's application names)", o.app))
	}
	if o.typ != streamtoken.TypePublish && o.typ != streamtoken.TypePlay {
		bad = append(bad, fmt.Sprintf("-type %q: want publish or play", o.typ))
	}
	if o.ttl <= 0 {
		bad = append(bad, fmt.Sprintf("-ttl %s: want a positive duration", o.ttl))
	}
	if !o.secretFromStdin && o.stack == "" && o.parameter == "" {
		bad = append(bad, "-stack (or -parameter, or -secret-from-stdin) is required to find the key")
	}
	if o.play == "" {
		o.play = o.web
	}
	if len(bad) > 0 {
		return o, errors.New(strings.Join(bad, "; "))
	}
	return o, nil
}

// streamIDPattern keeps stream ids to characters that the RTMP, SRT and
// page URLs carry unchanged: "?", "/", "&", "=" or "," would be split off
// by StreamService's or the SRT stream id's parsing.
var streamIDPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// appNamePattern is Ant Media's CommonRestService.APP_NAME_REGEX, nonempty.
var appNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// readSecret reads the key from standard input or through the AWS CLI.
func readSecret(o options, stdin io.Reader, aws runner) (string, error) {
	if o.secretFromStdin {
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<16))
		if err != nil {
			return "", fmt.Errorf("reading the key from standard input: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	name := o.parameter
	if name == "" {
		name = streamtoken.SecretParameterName(o.stack)
	}
	args := []string{"ssm", "get-parameter", "--name", name, "--with-decryption", "--query", "Parameter.Value", "--output", "text"}
	if o.region != "" {
		args = append(args, "--region", o.region)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := aws(ctx, "aws", args...)
	if errors.Is(err, exec.ErrNotFound) {
		return "", fmt.Errorf("reading parameter %s needs the AWS CLI (aws) on PATH; or pipe the key in with -secret-from-stdin", name)
	}
	if err != nil {
		return "", fmt.Errorf("reading parameter %s with the AWS CLI: %w", name, err)
	}
	return strings.TrimRight(string(out), "\r\n"), nil
}

package stack

import (
	"fmt"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ssm"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// AppConfig is what the stack manages on Ant Media's applications (the
// applications themselves are streamingApps) and the server's status
// webhook (issue 18).
type AppConfig struct {
	// PublishAuth is "jwt" (publishing needs a token) or "none" (unsafe).
	PublishAuth string
	// PlayAuth is "none" or "jwt" (playing needs a token).
	PlayAuth string
	// WebhookURL is the applications' listenerHookURL.
	WebhookURL string
	// StatusWebhookURL is the server's server.statusWebHookURL.
	StatusWebhookURL string
}

// appKeys are the configuration keys behind the ScalingGroupArgs fields of
// the application settings.
var appKeys = map[string]string{
	"AppSettings.Apps": "streamingApps", "AppSettings.PublishAuth": "publishAuth", "AppSettings.PlayAuth": "playAuth",
	"AppSettings.WebhookURL": "webhookUrl", "StatusWebhookURL": "statusWebhookUrl",
}

func (r *reader) appConfig() AppConfig {
	return AppConfig{
		PublishAuth:      r.str("publishAuth"),
		PlayAuth:         r.str("playAuth"),
		WebhookURL:       r.str("webhookUrl"),
		StatusWebhookURL: r.str("statusWebhookUrl"),
	}
}

// applicationSettings are the settings the nodes apply to every streaming
// application; features append theirs to Extra before the groups are built.
func (c *Config) applicationSettings(jwtSecret *components.SecretParameter) *components.ApplicationSettings {
	return &components.ApplicationSettings{
		Apps:        c.StreamingApps,
		PublishAuth: c.PublishAuth,
		PlayAuth:    c.PlayAuth,
		JWTSecret:   jwtSecret,
		WebhookURL:  c.WebhookURL,
	}
}

// buildAppSettings generates the JWT stream secret, keeps it in a
// SecureString parameter (read by the AMS nodes' roles only when a token is
// required, and by `go run ./cmd/token`), and returns the applications'
// managed settings.
func buildAppSettings(ctx *pulumi.Context, base string, cfg *Config) (*components.ApplicationSettings, error) {
	// Ant Media wants 32 characters or more (AppSettings.jwtStreamSecretKey).
	secret, err := random.NewRandomPassword(ctx, base+"-jwt-stream-secret", &random.RandomPasswordArgs{
		Length:  pulumi.Int(64),
		Special: pulumi.Bool(false),
	})
	if err != nil {
		return nil, fmt.Errorf("jwt stream secret: %w", err)
	}
	param, err := ssm.NewParameter(ctx, base+"-jwt-stream-secret", &ssm.ParameterArgs{
		Name:        pulumi.String(components.JWTSecretParameterName(ctx.Project(), ctx.Stack())),
		Description: pulumi.String("Ant Media applications' jwtStreamSecretKey: signs publish and play tokens"),
		Type:        pulumi.String("SecureString"),
		Value:       secret.Result,
	})
	if err != nil {
		return nil, fmt.Errorf("jwt stream secret parameter: %w", err)
	}
	return cfg.applicationSettings(&components.SecretParameter{Name: param.Name, Arn: param.Arn}), nil
}

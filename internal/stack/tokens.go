package stack

import (
	"fmt"

	"github.com/ams-cluster/ams-aws/components"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// addTokenOutputs exports, when publishing needs a token (publishAuth jwt),
// publishTokenCommand, cmd/token with this stack's name, region and hosts,
// which mints a publish token for the demo stream and prints the RTMP, SRT
// and WebRTC page URLs that carry it, and publishTokenUrls, those URLs
// with TOKEN where the token goes; when playing needs one (playAuth jwt),
// playTokenCommand.
func addTokenOutputs(ctx *pulumi.Context, out Outputs, cfg *Config, lb *components.StreamingLoadBalancer,
	ingest *components.IngestLoadBalancer,
) error {
	if cfg.PublishAuth != components.AuthJWT && cfg.PlayAuth != components.AuthJWT {
		return nil
	}
	region, err := aws.GetRegion(ctx, nil)
	if err != nil {
		return fmt.Errorf("token command: region: %w", err)
	}
	host := cfg.publicHost(lb.DNSName)
	web, play := pulumi.Sprintf("http://%s", host), pulumi.Sprintf("http://%s:5080", host)
	if cfg.HTTPSEnabled() {
		web, play = pulumi.Sprintf("https://%s", host), pulumi.Sprintf("https://%s:5443", host)
	}
	command := pulumi.Sprintf("go run ./cmd/token -stack %s -region %s -stream %s -ttl 12h -web %s -play %s",
		ctx.Stack(), region.Name, demoStreamID, web, play)
	if cfg.PlayAuth == components.AuthJWT {
		out["playTokenCommand"] = pulumi.Sprintf("%s -type play", command)
	}
	if cfg.PublishAuth != components.AuthJWT {
		return nil
	}
	ingestFlag, ingestForms := pulumi.String("").ToStringOutput(), pulumi.String("").ToStringOutput()
	if ingest != nil {
		h := ingestHost(cfg, ingest)
		ingestFlag = pulumi.Sprintf(" -ingest %s", h)
		ingestForms = pulumi.Sprintf("rtmp://%s/%s/%s?token=TOKEN  srt://%s:%d?streamid=%s/%s,token=TOKEN  ",
			h, demoApp, demoStreamID, h, components.SRTPort, demoApp, demoStreamID)
	}
	out["publishTokenCommand"] = pulumi.Sprintf("%s%s", command, ingestFlag)
	out["publishTokenUrls"] = pulumi.Sprintf("%s%s/%s/?id=%s&token=TOKEN", ingestForms, web, demoApp, demoStreamID)
	return nil
}

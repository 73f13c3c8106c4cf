package components

import (
	"strconv"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lb"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// HTTPSCounterpart returns the HTTPS listener of the same role as an HTTP
// listener: 443 for 80, 5443 for 5080. ok is false for HTTPS listeners and
// when listeners has no HTTPS listener of that role.
func HTTPSCounterpart(l Listener, listeners []Listener) (port int, ok bool) {
	if l.Protocol != "HTTP" {
		return 0, false
	}
	for _, other := range listeners {
		if other.Protocol == "HTTPS" && other.Role == l.Role {
			return other.Port, true
		}
	}
	return 0, false
}

// redirectAction answers 301 with the same host, path and query on the
// HTTPS port: browsers give the camera and microphone to HTTPS pages only.
func redirectAction(httpsPort int) *lb.ListenerDefaultActionArgs {
	return &lb.ListenerDefaultActionArgs{
		Type: pulumi.String("redirect"),
		Redirect: &lb.ListenerDefaultActionRedirectArgs{
			Protocol:   pulumi.String("HTTPS"),
			Port:       pulumi.String(strconv.Itoa(httpsPort)),
			Host:       pulumi.String("#{host}"),
			Path:       pulumi.String("/#{path}"),
			Query:      pulumi.String("#{query}"),
			StatusCode: pulumi.String("HTTP_301"),
		},
	}
}

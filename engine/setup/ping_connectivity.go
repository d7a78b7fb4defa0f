package setup

import (
	"context"
	"net/url"
	"slices"
	"strings"
)

// The Verify federation connectivity page: every endpoint of the PingFederate
// metadata resolved through the local DNS, then through the external one.

// ActionPingConnectivity runs the checks.
const ActionPingConnectivity = "ping_connectivity"

// Messages of the page.
const (
	MsgPingConnectivity = "hybridsync attempts to validate the authentication endpoints that it retrieves from the PingFederate metadata in the previous step. " +
		"It first attempts to resolve the endpoints by using your local DNS servers. Next, it attempts to resolve the endpoints by using an external DNS provider. " +
		"Contact your PingFederate administrator to resolve any validation issues."
	MsgPingRunChecks = "Select Verify to check the endpoints."
	MsgPingNoMeta    = "Read the PingFederate server's metadata on Export the PingFederate settings first."
)

var pingConnectivityPage = Page{
	ID:        PagePingConnectivity,
	Title:     "Verify federation connectivity",
	Section:   "Federation with PingFederate",
	ShownWhen: usesPing,
	Bind:      func(*Answers, Form) {}, // its button binds nothing
	Validate: func(_ context.Context, a *Answers, _ Checker) Errors {
		e := Errors{}
		fd := a.Federation
		switch {
		case fd.Metadata == nil:
			e.Add("", MsgPingNoMeta)
		case len(fd.Connectivity) == 0:
			e.Add("ping_connectivity", MsgPingRunChecks)
		default:
			var bad []string
			for _, c := range fd.Connectivity {
				if !c.OK() {
					bad = append(bad, c.Host)
				}
			}
			if len(bad) > 0 {
				e.Add("ping_connectivity", "These endpoints don't resolve: "+strings.Join(bad, ", ")+". "+MsgPingContact)
			}
		}
		return e
	},
	Act: func(ctx context.Context, a *Answers, action string, _ Form, chk Checker) Errors {
		if action != ActionPingConnectivity {
			return Errors{"": "This page has no such button. Reload the page and try again."}
		}
		e := Errors{}
		fd := &a.Federation
		if fd.Metadata == nil {
			e.Add("", MsgPingNoMeta)
			return e
		}
		fc, ok := chk.(fedChecker)
		if !ok {
			return e
		}
		fd.Connectivity = nil
		for _, host := range endpointHosts(fd.Metadata.Endpoints) {
			fd.Connectivity = append(fd.Connectivity, fc.ResolveBoth(ctx, host))
		}
		return e
	},
}

// endpointHosts are the distinct host names of the endpoints, in order.
func endpointHosts(endpoints []string) []string {
	var hosts []string
	for _, ep := range endpoints {
		u, err := url.Parse(ep)
		if err != nil || u.Hostname() == "" {
			continue
		}
		h := strings.ToLower(u.Hostname())
		if !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

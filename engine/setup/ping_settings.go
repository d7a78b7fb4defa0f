package setup

import (
	"context"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// The Export the PingFederate settings page: the settings file for the
// PingFederate administrator, then the PingFederate server's URL and port,
// whose metadata for the connection to Microsoft Entra ID is read and shown.

// ActionPingRead reads the PingFederate server's metadata.
const ActionPingRead = "ping_read"

// Messages of the page.
const (
	MsgPingExport = "Configure PingFederate as the federation server for each federated Azure domain. Select Export Settings to share this information with your " +
		"PingFederate administrator. The federation server administrator updates the configuration and then provides the PingFederate server URL and port number " +
		"so that hybridsync can verify the metadata settings."
	MsgPingNeedServer = "Enter the PingFederate server, for example ping.contoso.com or https://ping.contoso.com."
	MsgPingBadServer  = "Enter the server's host name (or an https:// URL with no path), for example ping.contoso.com."
	MsgPingBadPort    = "Enter the port of the PingFederate runtime, a number from 1 to 65535 (PingFederate's default is 9031)."
	MsgPingReadFirst  = "Select Verify: hybridsync reads the PingFederate server's metadata before you go on."
	// MsgPingMissing is the seed's words for a server without the SP connection.
	MsgPingMissing = "The PingFederate server was found, but the service provider connection for Azure is missing or disabled."
	MsgPingContact = "Contact your PingFederate administrator to resolve any validation issues."
	// DefaultPingPort is PingFederate's default runtime port.
	DefaultPingPort = "9031"
)

var pingSettingsPage = Page{
	ID:        PagePingSettings,
	Title:     "Export the PingFederate settings",
	Section:   "Federation with PingFederate",
	ShownWhen: usesPing,
	Bind: func(a *Answers, f Form) {
		fd := &a.Federation
		if f.Values.Has("ping_server") {
			server, port := f.str("ping_server"), f.str("ping_port")
			if server != fd.PingServer || port != fd.PingPort {
				fd.Metadata, fd.PingMissing, fd.Connectivity = nil, false, nil // read for another server
			}
			fd.PingServer, fd.PingPort = server, port
		}
	},
	Validate: func(_ context.Context, a *Answers, _ Checker) Errors {
		e := Errors{}
		if _, _, msg := pingTarget(a.Federation); msg != "" {
			e.Add(pingField(msg), msg)
			return e
		}
		switch fd := a.Federation; {
		case fd.PingMissing:
			e.Add("ping_server", MsgPingMissing+" "+MsgPingContact)
		case fd.Metadata == nil:
			e.Add("ping_server", MsgPingReadFirst)
		case len(fd.Metadata.Problems) > 0:
			e.Add("ping_server", strings.Join(fd.Metadata.Problems, " ")+" "+MsgPingContact)
		}
		return e
	},
	Act: func(ctx context.Context, a *Answers, action string, _ Form, chk Checker) Errors {
		e := Errors{}
		if action != ActionPingRead {
			return Errors{"": "This page has no such button. Reload the page and try again."}
		}
		fd := &a.Federation
		server, port, msg := pingTarget(*fd)
		if msg != "" {
			e.Add(pingField(msg), msg)
			return e
		}
		fc, ok := chk.(fedChecker)
		if !ok {
			return e
		}
		md, missing, err := fc.ReadPingMetadata(ctx, server, port)
		fd.Metadata, fd.PingMissing, fd.Connectivity = md, missing, nil
		switch {
		case missing:
			e.Add("ping_server", MsgPingMissing+" "+MsgPingContact)
		case err != nil:
			e.Add("ping_server", CheckMessage(err))
		}
		return e
	},
}

func pingField(msg string) string {
	if msg == MsgPingBadPort {
		return "ping_port"
	}
	return "ping_server"
}

// pingTarget checks the typed server and port: the server's host and the
// port, or what is wrong with them.
func pingTarget(fd Federation) (string, int, string) {
	server := strings.TrimSuffix(strings.TrimSpace(fd.PingServer), "/")
	if server == "" {
		return "", 0, MsgPingNeedServer
	}
	host := server
	if strings.Contains(server, "://") {
		u, err := url.Parse(server)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return "", 0, MsgPingBadServer
		}
		host = u.Hostname()
		if p := u.Port(); p != "" && fd.PingPort == "" {
			fd.PingPort = p
		}
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" || strings.ContainsAny(host, " /?#@") {
		return "", 0, MsgPingBadServer
	}
	port, err := strconv.Atoi(strings.TrimSpace(fd.PingPort))
	if err != nil || port < 1 || port > 65535 {
		return "", 0, MsgPingBadPort
	}
	return strings.ToLower(host), port, ""
}

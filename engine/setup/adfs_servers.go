package setup

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/federation"
)

// The Federation servers and Web Application Proxy servers pages: one or more
// servers each, checked when added — the name resolves, an AD FS server is a
// computer of a connected forest, and the WinRM port answers.

// Actions of the two pages.
const (
	ActionServerAdd     = "server_add"
	ActionServerRemove  = "server_remove" // server_remove:<name>
	ActionProxyCreds    = "proxy_creds"
	ActionProxyForget   = "proxy_forget"
	MsgServersPilot     = "Microsoft recommends installing a single AD FS server for test and pilot deployments. After the initial configuration, you can add and deploy more servers to meet your scaling needs by running hybridsync again."
	MsgProxiesPilot     = "Microsoft recommends installing a single Web Application Proxy server for test and pilot deployments. We recommend that you have an equivalent number of proxy servers to satisfy authentication from the intranet."
	MsgServersJoin      = "Join all AD FS servers to Active Directory before you add them. This step isn't required for the Web Application Proxy servers."
	MsgServersNeedOne   = "Add at least one AD FS server."
	MsgProxiesNeedOne   = "Add at least one Web Application Proxy server."
	MsgServerNoName     = "Enter the server's name, for example adfs1.contoso.com."
	MsgServerDuplicate  = "This server is already in the list."
	MsgProxyNeedCreds   = "Enter the credentials of a local administrator account on the AD FS server, so that the proxies can establish a secure connection to it."
	MsgProxyCredsGone   = "Enter the AD FS server's local administrator credentials again: hybridsync keeps them only in memory, and the server restarted (or they expired) since you entered them."
	MsgProxyCredsUnused = "These credentials must be for a local administrator account on the AD FS server. hybridsync keeps them in memory only and drops them at Configure: " +
		"it can't run remote PowerShell itself, so the proxy script asks for the same account when you run it (Install-WebApplicationProxy -FederationServiceTrustCredential)."
	MsgProxyConnectivity = "Before you add Web Application Proxy servers, ensure that there's HTTP/HTTPS connectivity between hybridsync and each proxy, and between each proxy and the AD FS servers."
)

var adfsServersPage = Page{
	ID:        PageADFSServers,
	Title:     "Federation servers",
	Section:   "Federation with AD FS",
	ShownWhen: usesNewFarm,
	Bind: func(a *Answers, f Form) {
		if f.Values.Has("server_name") {
			a.Federation.ServerDraft = strings.ToLower(f.str("server_name"))
		}
	},
	Validate: func(_ context.Context, a *Answers, _ Checker) Errors { return validateServers(a) },
	Notices: func(a *Answers) []Notice {
		if len(a.Federation.Servers) > 1 {
			return []Notice{{Level: "info", Text: MsgServersPilot, PageOnly: true}}
		}
		return nil
	},
	Act: func(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
		return actServers(ctx, a, action, chk, &a.Federation.Servers, &a.Federation.ServerDraft, true, "server_name")
	},
}

var adfsProxiesPage = Page{
	ID:        PageADFSProxies,
	Title:     "Web Application Proxy servers",
	Section:   "Federation with AD FS",
	ShownWhen: usesNewFarm,
	Bind: func(a *Answers, f Form) {
		if f.Values.Has("proxy_name") {
			a.Federation.ProxyDraft = strings.ToLower(f.str("proxy_name"))
		}
		if f.Values.Has("proxy_user") {
			a.Federation.ProxyUser = f.str("proxy_user")
		}
	},
	Validate: func(_ context.Context, a *Answers, chk Checker) Errors {
		e := Errors{}
		if len(a.Federation.Proxies) == 0 {
			e.Add("proxy_name", MsgProxiesNeedOne)
		}
		fc, _ := chk.(fedChecker)
		switch {
		case a.Federation.ProxyCredsAs == "" && a.Federation.ProxyCredsUsed != "":
			// Taken and dropped by an earlier Configure.
		case a.Federation.ProxyCredsAs == "":
			e.Add("proxy_user", MsgProxyNeedCreds)
		case fc != nil && !fc.HasProxyCreds():
			e.Add("proxy_user", MsgProxyCredsGone)
		}
		return e
	},
	Act: func(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
		fc, _ := chk.(fedChecker)
		switch action {
		case ActionProxyForget:
			if fc != nil {
				fc.ForgetProxyCreds()
			}
			a.Federation.ProxyCredsAs = ""
			return Errors{}
		case ActionProxyCreds:
			e := Errors{}
			if msg := checkADUser(a.Federation.ProxyUser); msg != "" {
				e.Add("proxy_user", msg)
			}
			pw := f.raw("proxy_password")
			if pw == "" {
				e.Add("proxy_password", "Enter the password.")
			}
			if len(e) > 0 || fc == nil {
				return e
			}
			fc.HoldProxyCreds(a.Federation.ProxyUser, pw)
			a.Federation.ProxyCredsAs, a.Federation.ProxyCredsUsed = a.Federation.ProxyUser, ""
			return e
		}
		return actServers(ctx, a, action, chk, &a.Federation.Proxies, &a.Federation.ProxyDraft, false, "proxy_name")
	},
	View: func(_ context.Context, _ *Answers, chk Checker) any {
		fc, ok := chk.(fedChecker)
		return ProxiesView{CredsHeld: ok && fc.HasProxyCreds()}
	},
}

// ProxiesView says whether the AD FS server's administrator is still in memory.
type ProxiesView struct{ CredsHeld bool }

// validateServers is the Federation servers page's rule, checked when the
// page is left with Next.
func validateServers(a *Answers) Errors {
	e := Errors{}
	if len(a.Federation.Servers) == 0 {
		e.Add("server_name", MsgServersNeedOne)
	}
	return e
}

func actServers(ctx context.Context, a *Answers, action string, chk Checker, list *[]FedServer, draft *string, domainJoined bool, field string) Errors {
	e := Errors{}
	if name, ok := strings.CutPrefix(action, ActionServerRemove+":"); ok {
		*list = slices.DeleteFunc(*list, func(s FedServer) bool { return s.Name == name })
		return e
	}
	if action != ActionServerAdd {
		return Errors{"": "This page has no such button. Reload the page and try again."}
	}
	name := strings.TrimSuffix(*draft, ".")
	switch {
	case name == "":
		e.Add(field, MsgServerNoName)
	case federation.ValidFSName(name) != nil && !isShortName(name):
		e.Add(field, federation.ValidFSName(name).Error())
	case slices.ContainsFunc(*list, func(s FedServer) bool { return strings.EqualFold(s.Name, name) }):
		e.Add(field, MsgServerDuplicate)
	}
	if len(e) > 0 {
		return e
	}
	fc, ok := chk.(fedChecker)
	if !ok {
		return e
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := fc.CheckServer(ctx, a, name, domainJoined)
	if err != nil {
		e.Add(field, CheckMessage(err))
		return e
	}
	*list = append(*list, s)
	*draft = ""
	return e
}

// isShortName accepts a single-label host name (a NetBIOS-style server name).
func isShortName(s string) bool {
	if s == "" || len(s) > 63 || strings.Contains(s, ".") {
		return false
	}
	for _, r := range s {
		if !(r == '-' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

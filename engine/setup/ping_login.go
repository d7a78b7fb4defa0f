package setup

import (
	"context"
	"strings"
)

// The Verify federated login page of PingFederate: the admin signs a user of
// the federated domain in through the tenant, in the browser. Before
// Configure the domain isn't federated in Microsoft Entra ID yet, so the page
// says where the same check is offered afterwards (Verify federation, an
// additional task for both methods).

// Messages of the page.
const (
	MsgLoginVerify = "Finally, you can verify the newly configured federated login flow by signing in to the federated domain. If your sign-in succeeds, " +
		"then the federation with PingFederate is successfully configured."
	MsgLoginAfterConfigure = "The domain is federated in Microsoft Entra ID when you select Configure, so the sign-in can't be verified before that. " +
		"After Configure, the Verify federation page (linked from the Configure job and the Overview) offers this check; you can also come back to this page."
)

var pingLoginPage = Page{
	ID:        PagePingLogin,
	Title:     "Verify federated login",
	Section:   "Federation with PingFederate",
	ShownWhen: usesPing,
	Bind:      func(*Answers, Form) {}, // its button binds nothing
	Validate:  func(context.Context, *Answers, Checker) Errors { return Errors{} },
}

// DomainFederated reports whether the tenant, as last read, has the domain
// federated.
func DomainFederated(a *Answers, domain string) bool {
	if a.ConnectEntra.Tenant == nil || domain == "" {
		return false
	}
	d, ok := a.ConnectEntra.Tenant.Domain(domain)
	return ok && strings.EqualFold(d.AuthenticationType, "Federated")
}

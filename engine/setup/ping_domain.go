package setup

import "context"

// The Verify the domain page of PingFederate: the domain to federate, chosen
// from the tenant's domains, verified as on AD FS's Microsoft Entra domain page.

var pingDomainPage = Page{
	ID:        PagePingDomain,
	Title:     "Verify the domain",
	Section:   "Federation with PingFederate",
	ShownWhen: usesPing,
	Bind:      bindFedDomain,
	Validate:  func(_ context.Context, a *Answers, _ Checker) Errors { return validateFedDomain(a) },
	Act:       actFedDomain,
	Notices:   fedRoleNotices,
}

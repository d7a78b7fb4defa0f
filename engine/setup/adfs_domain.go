package setup

import "context"

// The Microsoft Entra domain page of AD FS: the one domain to federate at
// first install, from the tenant's custom domains; an unverified one shows
// the TXT record to publish and a Verify button.

var adfsDomainPage = Page{
	ID:        PageADFSDomain,
	Title:     "Microsoft Entra domain",
	Section:   "Federation with AD FS",
	ShownWhen: usesADFS,
	Bind:      bindFedDomain,
	Validate:  func(_ context.Context, a *Answers, _ Checker) Errors { return validateFedDomain(a) },
	Act:       actFedDomain,
	Notices:   fedRoleNotices,
}

func bindFedDomain(a *Answers, f Form) {
	if f.Values.Has("fed_domain") {
		a.Federation.Domain = f.str("fed_domain")
	}
}

package setup

// SSO is the Enable single sign-on page's answers.
type SSO struct{}

var ssoPage = Page{
	ID:        PageSSO,
	Title:     "Enable single sign-on",
	Section:   "Single sign-on",
	ShownWhen: func(a *Answers) bool { return a.SignIn.SSOApplies() },
	Coming:    comingSSO,
}

const comingSSO = "You chose single sign-on. Here you will give domain administrator credentials for each forest (used once to create the " +
	"AZUREADSSOACC computer account, never stored), or skip a forest, and get the intranet-zone settings for your clients. " +
	"It needs a connection to your forests, still to come."

// summarizeSSO is the page's part of the summary.
func summarizeSSO(a Answers) []SummaryRow { return nil }

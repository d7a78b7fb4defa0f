package setup

// SignInConfig is the Microsoft Entra sign-in configuration page's answers.
type SignInConfig struct{}

var signInConfigPage = Page{
	ID:        PageSignInConfig,
	Title:     "Microsoft Entra sign-in configuration",
	Section:   "Sync",
	ShownWhen: nil,
	Coming:    comingSignInConfig,
}

const comingSignInConfig = "Here you will review every UPN suffix of your forests as Verified, Not Verified or Not Added in Microsoft Entra ID, " +
	"and choose userPrincipalName or an alternate ID as the sign-in attribute. It needs your forests and your tenant, both still to come."

// summarizeSignInConfig is the page's part of the summary.
func summarizeSignInConfig(a Answers) []SummaryRow { return nil }

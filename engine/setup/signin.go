package setup

import "context"

// SignIn is the User sign-in page.
type SignIn struct {
	Method string `json:"method"`
	SSO    bool   `json:"sso"`
	// SSOCleared: Enable single sign-on was ticked with Federation with AD
	// FS, and cleared (MsgSSOCleared).
	SSOCleared bool `json:"ssoCleared,omitempty"`
}

// Sign-in methods, in the seed's order.
const (
	MethodPHS  = "password-hash-sync"
	MethodPTA  = "pass-through"
	MethodADFS = "federation-adfs"
	MethodPing = "federation-pingfederate"
	MethodNone = "none"
)

// Method describes one sign-in option.
type Method struct {
	ID, Label, Description string
}

// Methods lists the sign-in options with the seed's descriptions.
var Methods = []Method{
	{MethodPHS, "Password hash synchronization", "Users can sign in to Microsoft cloud services, such as Microsoft 365, by using the same password they use in their on-premises network. User passwords are synchronized to Microsoft Entra ID as a password hash. Authentication occurs in the cloud."},
	{MethodPTA, "Pass-through authentication", "Users can sign in to Microsoft cloud services, such as Microsoft 365, by using the same password they use in their on-premises network. User passwords are validated by being passed through to the on-premises Active Directory domain controller."},
	{MethodADFS, "Federation with AD FS", "Users can sign in to Microsoft cloud services, such as Microsoft 365, by using the same password they use in their on-premises network. Users are redirected to their on-premises AD FS instance to sign in. Authentication occurs on-premises."},
	{MethodPing, "Federation with PingFederate", "Users can sign in to Microsoft cloud services, such as Microsoft 365, by using the same password they use in their on-premises network. Users are redirected to their on-premises PingFederate instance to sign in. Authentication occurs on-premises."},
	{MethodNone, "Do not configure", "No user sign-in feature is installed or configured. Choose this option if you already have a third-party federation server or another solution in place."},
}

// MethodLabel returns the label of a method id.
func MethodLabel(id string) string {
	for _, m := range Methods {
		if m.ID == id {
			return m.Label
		}
	}
	return id
}

// Messages of the sign-in rules.
const (
	MsgSSOUnavailableADFS = "For AD FS customers, this option is unavailable. AD FS already offers the same level of single sign-on."
	MsgSSOOnlyPHSPTA      = "Single sign-on is available only with password hash synchronization or pass-through authentication."
	MsgChooseMethod       = "Choose how your users will sign in."
	MsgSSOCleared         = "Enable single sign-on was cleared because you chose Federation with AD FS."
)

// Federated reports whether the method federates sign-in to an on-premises server.
func (s SignIn) Federated() bool { return s.Method == MethodADFS || s.Method == MethodPing }

// SSOApplies reports whether seamless single sign-on is chosen and allowed.
func (s SignIn) SSOApplies() bool {
	return s.SSO && (s.Method == MethodPHS || s.Method == MethodPTA)
}

var signInPage = Page{
	ID:      PageSignIn,
	Title:   "User sign-in",
	Section: "User sign-in",
	Bind: func(a *Answers, f Form) {
		a.SignIn.Method = f.str("method")
		a.SignIn.SSO = f.on("sso")
		// The seed offers no single sign-on with AD FS (it already offers
		// the same): the box is cleared, and a note says so, rather than
		// refusing the page.
		a.SignIn.SSOCleared = a.SignIn.Method == MethodADFS && a.SignIn.SSO
		if a.SignIn.SSOCleared {
			a.SignIn.SSO = false
		}
		// Password hash sync as the sign-in method is the feature itself.
		if a.SignIn.Method == MethodPHS {
			a.Features.PasswordHashSync = true
		}
	},
	Validate: func(_ context.Context, a *Answers, _ Checker) Errors { return validateSignIn(a.SignIn) },
	Notices: func(a *Answers) []Notice {
		// Connect to Microsoft Entra ID says what AD FS means for the
		// account signed in with there (MsgEntraADFS), where it matters.
		if a.SignIn.Method == MethodADFS && a.SignIn.SSOCleared {
			return []Notice{{Level: "info", About: "sso", Text: MsgSSOCleared}}
		}
		return nil
	},
}

func validateSignIn(s SignIn) Errors {
	e := Errors{}
	known := false
	for _, m := range Methods {
		known = known || m.ID == s.Method
	}
	if !known {
		e.Add("method", MsgChooseMethod)
	}
	if s.SSO {
		switch s.Method {
		case MethodPHS, MethodPTA:
		case MethodADFS:
			e.Add("sso", MsgSSOUnavailableADFS)
		default:
			e.Add("sso", MsgSSOOnlyPHSPTA)
		}
	}
	return e
}

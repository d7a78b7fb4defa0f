package setup

import (
	"context"
	"strings"
	"time"
)

// SSO is the Enable single sign-on page: for each forest, domain administrator
// credentials (kept in memory only, for Configure to create the AZUREADSSOACC
// computer account) or the choice to skip it.
type SSO struct {
	Forests map[string]SSOForest `json:"forests,omitempty"`
}

// SSOForest is one forest's single sign-on state. It never holds a password.
type SSOForest struct {
	Skip bool `json:"skip"`
	// User is what was typed in the Username box (kept so an error loses nothing).
	User string `json:"user,omitempty"`
	// EnteredAs and EnteredAt record accepted credentials, which the vault
	// holds; Configure clears them once it has used them.
	EnteredAs string `json:"enteredAs,omitempty"`
	EnteredAt string `json:"enteredAt,omitempty"`
	// ComputerDN is the computer account Configure created or updated.
	ComputerDN string `json:"computerDn,omitempty"`
	ComputerAt string `json:"computerAt,omitempty"`
}

// State words a forest's state for summaries.
func (s SSOForest) State() string {
	switch {
	case s.Skip:
		return "Skipped"
	case s.EnteredAs != "":
		return "Credentials entered (" + s.EnteredAs + "); the computer account is created when you select Configure"
	case s.ComputerDN != "":
		return "Computer account " + s.ComputerDN
	}
	return "No credentials entered"
}

const (
	ActionSSOCreds  = "sso_creds"
	ActionSSOForget = "sso_forget"
)

// Messages of the single sign-on rules.
const (
	MsgSSOSkip        = "You can skip forests where you don't want to use single sign-on."
	MsgSSONeedCreds   = "Enter the credentials of a domain administrator of this forest, or skip it."
	MsgSSOGone        = "Enter the domain administrator credentials for this forest again: hybridsync keeps them only in memory, and the server restarted (or they expired) since you entered them."
	MsgSSONotStored   = "The credentials are used only to create the computer account AZUREADSSOACC. They are kept in memory until you select Configure and are never stored."
	MsgSSONeedsSecure = "Creating the single sign-on computer account sets its password, which AD accepts only over LDAPS or StartTLS. Connect to this forest with LDAPS or StartTLS, or skip it."
)

// The intranet zone settings, as the seed gives them.
const (
	SSOAutologonURL = "https://autologon.microsoftazuread-sso.com"
	SSOGatewayURL   = "https://aadg.windows.net.nsatc.net"
	SSOZoneValue    = "1"
)

// IntranetZoneSteps are the seed's steps to put the single sign-on URLs in the
// clients' intranet zone with Group Policy.
var IntranetZoneSteps = []string{
	"Open the Group Policy management tools.",
	"Edit the group policy that will be applied to all users. For example, the Default Domain policy.",
	"Go to User Configuration > Administrative Templates > Windows Components > Internet Explorer > Internet Control Panel > Security Page. Then select Site to Zone Assignment List.",
	"Enable the policy. Then, in the dialog box, enter a value name of " + SSOAutologonURL + " and " + SSOGatewayURL + " with a value of " + SSOZoneValue + " for both URLs.",
	"Select OK twice.",
}

// IntranetZoneText is the downloadable form of the instructions.
func IntranetZoneText() string {
	var b strings.Builder
	b.WriteString("Single sign-on: configure the intranet zone for client machines\r\n\r\n")
	b.WriteString("To ensure that the client signs in automatically in the intranet zone, make sure the URLs are part of the intranet zone, so that a domain-joined computer sends a Kerberos ticket to Microsoft Entra ID when it is connected to the corporate network.\r\n\r\n")
	b.WriteString("On a computer that has Group Policy management tools:\r\n\r\n")
	for i, s := range IntranetZoneSteps {
		b.WriteString(string(rune('1'+i)) + ". " + s + "\r\n")
	}
	b.WriteString("\r\nSite to Zone Assignment List:\r\n")
	b.WriteString("  Value name: " + SSOAutologonURL + "    Value: " + SSOZoneValue + "\r\n")
	b.WriteString("  Value name: " + SSOGatewayURL + "    Value: " + SSOZoneValue + "\r\n")
	return b.String()
}

// SSOVaultKey is the vault key of a forest's single sign-on credentials,
// apart from the enterprise admin credentials of Connect your directories.
func SSOVaultKey(forest string) string { return "sso:" + forest }

// ssoCredentials checks and holds single sign-on credentials; the
// StoreChecker has it (sso_check.go). Unit tests give a fake.
type ssoCredentials interface {
	// CheckSSOCredentials binds to the forest as user, requires a Domain (or
	// Enterprise) Admin, and keeps the credentials in the vault.
	CheckSSOCredentials(ctx context.Context, fc ForestConn, user, password string) error
	HasSSOCredentials(forest string) bool
	ForgetSSOCredentials(forest string)
}

var ssoPage = Page{
	ID:        PageSSO,
	Title:     "Enable single sign-on",
	Section:   "Single sign-on",
	ShownWhen: func(a *Answers) bool { return a.SignIn.SSOApplies() },
	Bind: func(a *Answers, f Form) {
		s := &a.SSO
		if s.Forests == nil {
			s.Forests = map[string]SSOForest{}
		}
		for _, fc := range a.Directories.Forests {
			sf := s.Forests[fc.Forest]
			sf.Skip = f.on("sso_skip:" + fc.Forest)
			sf.User = f.str("sso_user:" + fc.Forest)
			s.Forests[fc.Forest] = sf
		}
	},
	Validate: func(_ context.Context, a *Answers, chk Checker) Errors {
		e := Errors{}
		if len(a.Directories.Forests) == 0 {
			e.Add("", "Add a forest on Connect your directories first: single sign-on is set up for each forest.")
			return e
		}
		sc, _ := chk.(ssoCredentials)
		for _, fc := range a.Directories.Forests {
			sf := a.SSO.Forests[fc.Forest]
			field := "sso:" + fc.Forest
			switch {
			case sf.Skip:
			case sf.EnteredAs != "":
				if sc != nil && !sc.HasSSOCredentials(fc.Forest) && sf.ComputerDN == "" {
					e.Add(field, MsgSSOGone)
				}
			case sf.ComputerDN != "":
				// Created by an earlier Configure; new credentials would reset it.
			default:
				e.Add(field, MsgSSONeedCreds)
			}
		}
		return e
	},
	Act: actSSO,
}

func actSSO(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
	kind, forest, _ := strings.Cut(action, ":")
	var fc *ForestConn
	for i := range a.Directories.Forests {
		if a.Directories.Forests[i].Forest == forest {
			fc = &a.Directories.Forests[i]
		}
	}
	if fc == nil || (kind != ActionSSOCreds && kind != ActionSSOForget) {
		return Errors{"": "This page has no such button. Reload the page and try again."}
	}
	if a.SSO.Forests == nil {
		a.SSO.Forests = map[string]SSOForest{}
	}
	sf := a.SSO.Forests[forest]
	sc, _ := chk.(ssoCredentials)
	e := Errors{}
	field := "sso:" + forest
	if kind == ActionSSOForget {
		if sc != nil {
			sc.ForgetSSOCredentials(forest)
		}
		sf.EnteredAs, sf.EnteredAt = "", ""
		a.SSO.Forests[forest] = sf
		return e
	}
	if msg := checkADUser(sf.User); msg != "" {
		e.Add("sso_user:"+forest, msg)
	}
	pw := f.raw("sso_password:" + forest)
	if pw == "" {
		e.Add("sso_password:"+forest, "Enter the password.")
	}
	if fc.Security == SecurityInsecure {
		e.Add(field, MsgSSONeedsSecure)
	}
	if len(e) > 0 || sc == nil {
		return e
	}
	if err := sc.CheckSSOCredentials(ctx, *fc, sf.User, pw); err != nil {
		e.Add(field, CheckMessage(err))
		return e
	}
	sf.Skip, sf.EnteredAs, sf.EnteredAt = false, sf.User, time.Now().UTC().Format(time.RFC3339)
	a.SSO.Forests[forest] = sf
	return e
}

// summarizeSSO is the page's part of the summary.
func summarizeSSO(a Answers) []SummaryRow {
	if !a.SignIn.SSOApplies() {
		return nil
	}
	var rows []SummaryRow
	for _, fc := range a.Directories.Forests {
		rows = append(rows, SummaryRow{"Single sign-on in " + fc.Forest, a.SSO.Forests[fc.Forest].State()})
	}
	return rows
}

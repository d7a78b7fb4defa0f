package setup

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/entra"
)

// ConnectEntra is the Connect to Microsoft Entra ID page: the Hybrid Identity
// Administrator who signs in (with a password, or interactively through the
// browser) and the tenant that account belongs to. The administrator's
// password and tokens are never kept here: the signed-in session waits in
// memory until Configure uses it to create the sync service account, whose
// credentials (sealed) are recorded here afterwards.
type ConnectEntra struct {
	// User is what was typed in the Username box (kept so an error loses nothing).
	User string `json:"user,omitempty"`
	// NeedsMFA is set when the last password sign-in needed multi-factor
	// authentication: the page then points at the interactive sign-in.
	NeedsMFA bool `json:"needsMfa,omitempty"`
	// SignedInAs, SignedInHow and SignedInAt record the accepted sign-in.
	SignedInAs  string   `json:"signedInAs,omitempty"`
	SignedInHow string   `json:"signedInHow,omitempty"`
	SignedInAt  string   `json:"signedInAt,omitempty"`
	Roles       []string `json:"roles,omitempty"`
	// Tenant is the tenant as last read (its domains decide the UPN suffix
	// states on the sign-in configuration page).
	Tenant *entra.Tenant `json:"tenant,omitempty"`
	// The sync service account, recorded by Configure once it created it.
	SyncAccount   string `json:"syncAccount,omitempty"`
	SyncAccountID string `json:"syncAccountId,omitempty"`
	SyncPassword  string `json:"syncPassword,omitempty"` // sealed
	SyncCreatedAt string `json:"syncCreatedAt,omitempty"`
}

// Actions of the page's own buttons.
const (
	ActionEntraSignIn = "entra_signin"
	ActionEntraForget = "entra_forget"
	// ActionEntraInteractive keeps what was typed before the browser goes to
	// the interactive sign-in (handlers start it).
	ActionEntraInteractive = "entra_interactive"
)

// Messages of the page.
const (
	MsgEntraADFS = "You selected Federation with AD FS: don't sign in with an account that's in a domain you plan to enable for federation."
	MsgEntraUse  = "You might want to use an account in the default onmicrosoft.com domain, which comes with your Microsoft Entra tenant. " +
		"This account is used only to create a service account in Microsoft Entra ID. It's not used after the installation finishes."
	MsgEntraBestPractice = "A best practice is to avoid using on-premises synced accounts for Microsoft Entra role assignments. " +
		"If the on-premises account is compromised, this can be used to compromise your Microsoft Entra resources as well."
	MsgEntraNotStored       = "hybridsync never stores this account's password or tokens: the sign-in is kept in memory until you select Configure, which uses it only to create the sync service account."
	MsgEntraNeedSignIn      = "Sign in with a Hybrid Identity Administrator or Global Administrator account of your tenant."
	MsgEntraGone            = "Sign in again: hybridsync keeps the administrator's sign-in only in memory, and the server restarted (or two hours passed) since you signed in."
	MsgEntraNoPassword      = "Enter the password."
	MsgEntraNoUser          = "Enter the account, such as admin@contoso.onmicrosoft.com."
	MsgEntraInteractiveOnly = "hybridsync was started with --interactive-auth: sign in through the sign-in window instead of typing a password here."
)

// entraChecker is what the page needs to sign in and to read the tenant;
// StoreChecker has it (connectentra_check.go).
type entraChecker interface {
	EntraConfig() entra.Config
	// EntraPasswordSignIn signs in with a password and keeps the session in memory.
	EntraPasswordSignIn(ctx context.Context, user, password string) (*entra.Session, error)
	// EntraSession is the signed-in session while it is in memory.
	EntraSession() (*entra.Session, bool)
	ForgetEntra()
}

var connectEntraPage = Page{
	ID:      PageConnectEntra,
	Title:   "Connect to Microsoft Entra ID",
	Section: "Microsoft Entra ID",
	Bind: func(a *Answers, f Form) {
		if f.Values.Has("entra_user") {
			a.ConnectEntra.User = f.str("entra_user")
		}
	},
	Validate: func(_ context.Context, a *Answers, chk Checker) Errors {
		e := Errors{}
		ec, ok := chk.(entraChecker)
		if !ok {
			// No way to sign in here (pure unit tests): the answers decide.
			if a.ConnectEntra.Tenant == nil {
				e.Add("entra", MsgEntraNeedSignIn)
			}
			return e
		}
		if err := ec.EntraConfig().Check(); err != nil {
			e.Add("", entra.Message(err))
			return e
		}
		s, live := ec.EntraSession()
		if live {
			recordEntraSession(&a.ConnectEntra, s)
		}
		switch {
		case a.ConnectEntra.Tenant == nil:
			e.Add("entra", MsgEntraNeedSignIn)
		case !live && a.ConnectEntra.SyncAccount == "":
			e.Add("entra", MsgEntraGone)
		}
		return e
	},
	Notices: connectEntraNotices,
	View: func(_ context.Context, a *Answers, chk Checker) any {
		v := ConnectEntraView{}
		if ec, ok := chk.(entraChecker); ok {
			cfg := ec.EntraConfig()
			v.Interactive, v.Authority = cfg.Interactive, cfg.Authority
			if err := cfg.Check(); err != nil {
				v.ConfigError = entra.Message(err)
			}
			if s, live := ec.EntraSession(); live {
				// Shown at once; recorded in the answers on the next post.
				recordEntraSession(&a.ConnectEntra, s)
				v.Live = true
			}
		}
		return v
	},
	Act: actConnectEntra,
}

// ConnectEntraView is what the page shows beyond its answers.
type ConnectEntraView struct {
	Interactive bool   // the --interactive-auth switch
	Authority   string // where sign-in goes
	ConfigError string // the console can't sign in at all (no client id)
	Live        bool   // the sign-in is in memory, ready for Configure
}

// recordEntraSession copies a session's facts (never its tokens) into the answers.
func recordEntraSession(c *ConnectEntra, s *entra.Session) {
	at := s.At.UTC().Format(time.RFC3339)
	if c.SignedInAt == at && c.SignedInAs == s.User {
		return
	}
	t := s.Tenant
	c.SignedInAs, c.SignedInHow, c.SignedInAt, c.Roles, c.Tenant = s.User, s.How, at, s.Roles, &t
	c.NeedsMFA = false
	if c.User == "" {
		c.User = s.User
	}
}

func actConnectEntra(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
	e := Errors{}
	ec, ok := chk.(entraChecker)
	if !ok {
		e.Add("", "hybridsync can't sign in to Microsoft Entra ID here.")
		return e
	}
	c := &a.ConnectEntra
	switch action {
	case ActionEntraForget:
		ec.ForgetEntra()
		c.SignedInAs, c.SignedInHow, c.SignedInAt, c.Roles = "", "", "", nil
		if c.SyncAccount == "" {
			c.Tenant = nil
		}
		return e
	case ActionEntraInteractive:
		c.NeedsMFA = false
		return e
	case ActionEntraSignIn:
	default:
		return Errors{"": "This page has no such button. Reload the page and try again."}
	}
	cfg := ec.EntraConfig()
	if err := cfg.Check(); err != nil {
		e.Add("", entra.Message(err))
		return e
	}
	if cfg.Interactive {
		e.Add("entra", MsgEntraInteractiveOnly)
		return e
	}
	pw := f.raw("entra_password")
	switch {
	case c.User == "":
		e.Add("entra_user", MsgEntraNoUser)
	case !strings.Contains(c.User, "@"):
		e.Add("entra_user", "Enter the account as a user principal name, such as admin@contoso.onmicrosoft.com.")
	}
	if pw == "" {
		e.Add("entra_password", MsgEntraNoPassword)
	}
	if len(e) > 0 {
		return e
	}
	s, err := ec.EntraPasswordSignIn(ctx, c.User, pw)
	if err != nil {
		c.NeedsMFA = entra.IsMFARequired(err)
		e.Add("entra", entra.Message(err))
		return e
	}
	recordEntraSession(c, s)
	return e
}

func connectEntraNotices(a *Answers) []Notice {
	var n []Notice
	c := a.ConnectEntra
	if a.SignIn.Method == MethodADFS {
		msg := MsgEntraADFS
		if c.SignedInAs != "" && !strings.HasSuffix(strings.ToLower(c.SignedInAs), ".onmicrosoft.com") {
			msg += " You signed in as " + c.SignedInAs + ", which is not in your tenant's onmicrosoft.com domain."
		}
		n = append(n, Notice{Level: "warn", Text: msg, About: "entra-adfs"})
	}
	if server := Federates(a); server != "" {
		// Said before sign-in too: federation needs more than the role the
		// page asks for.
		text := "Federation with " + server + " needs a Global Administrator, or a Hybrid Identity Administrator who is also Domain Name Administrator."
		level := "info"
		if c.SignedInAs != "" && !entra.CanFederate(c.Roles) {
			has := "no administrator role hybridsync knows"
			if len(c.Roles) > 0 {
				has = strings.Join(c.Roles, ", ")
			}
			text, level = MsgFedRoles+" "+c.SignedInAs+" has: "+has+".", "warn"
		}
		n = append(n, Notice{Level: level, Text: text, About: "entra-federation"})
	}
	if t := c.Tenant; t != nil && len(t.VerifiedCustomDomains()) == 0 {
		n = append(n, Notice{Level: "warn", About: "entra-domains", Text: t.DisplayName + " has no verified domain besides " + t.InitialDomain + ": users will sign in as user@" + t.InitialDomain +
			" until you add and verify your domains." + ptaNoVerified(a)})
	}
	return n
}

func ptaNoVerified(a *Answers) string {
	if a.SignIn.Method == MethodPTA {
		return " " + MsgPTANeedsVerified
	}
	return ""
}

// summarizeConnectEntra is the page's part of the summary.
func summarizeConnectEntra(a Answers) []SummaryRow {
	c := a.ConnectEntra
	if c.Tenant == nil {
		return []SummaryRow{{"Tenant", "Not connected"}}
	}
	rows := []SummaryRow{{"Tenant", c.Tenant.DisplayName + " (" + c.Tenant.InitialDomain + ", " + c.Tenant.ID + ")"}}
	if c.SignedInAs != "" {
		rows = append(rows, SummaryRow{"Signed in as", c.SignedInAs + " (" + strings.Join(c.Roles, ", ") + ", " + c.SignedInHow + ")"})
	}
	acct := "A new sync service account, created by Configure"
	if c.SyncAccount != "" {
		acct = c.SyncAccount + " (created " + c.SyncCreatedAt + ")"
	}
	rows = append(rows, SummaryRow{"Sync service account", acct})
	return rows
}

// wordEntra words a failure of a tenant read for the admin.
func wordEntra(err error) string {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Msg
	}
	return entra.Message(err)
}

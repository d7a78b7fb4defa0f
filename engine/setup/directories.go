package setup

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

// Directories is the Connect your directories page: the forests to sync, each
// with the account hybridsync connects with, and the Add directory form.
type Directories struct {
	Forests []ForestConn `json:"forests,omitempty"`
	// Draft keeps what was typed in the Add directory form, so that an error
	// loses nothing (passwords excepted: they are never kept in a form).
	Draft ForestDraft `json:"draft"`
}

// ForestDraft is the Add directory form.
type ForestDraft struct {
	Forest   string `json:"forest"`
	Host     string `json:"host,omitempty"` // explicit DC host[:port]; empty: found through DNS
	Security string `json:"security"`       // SecurityLDAPS, SecurityStartTLS or SecurityInsecure
	CAPEM    string `json:"caPem,omitempty"`
	Account  string `json:"account"` // AccountCreate or AccountExisting
	User     string `json:"user,omitempty"`

	password string // typed in this request only
}

// ForestConn is a forest that was connected to.
type ForestConn struct {
	Forest   string `json:"forest"`
	Host     string `json:"host,omitempty"`
	Security string `json:"security"`
	CAPEM    string `json:"caPem,omitempty"`
	Account  string `json:"account"`
	// ConnectorUser and ConnectorPassword (sealed) are the AD DS connector
	// account: typed for an existing account, set by Configure for a new one.
	ConnectorUser     string `json:"connectorUser,omitempty"`
	ConnectorPassword string `json:"connectorPassword,omitempty"`

	DC          string         `json:"dc"`
	NetBIOS     string         `json:"netbios"`
	RootDN      string         `json:"rootDn"`
	Domains     []ForestDomain `json:"domains"`
	UPNSuffixes []string       `json:"upnSuffixes,omitempty"`
	HasExchange bool           `json:"hasExchange"`
	CheckedAt   string         `json:"checkedAt"`
	CheckedAs   string         `json:"checkedAs"`

	newPassword string // the existing account's password, not yet sealed
}

// ForestDomain is one domain of a forest.
type ForestDomain struct {
	DNS     string `json:"dns"`
	NetBIOS string `json:"netbios"`
	DN      string `json:"dn"`
	SID     string `json:"sid"`
}

const (
	SecurityLDAPS    = "ldaps"
	SecurityStartTLS = "starttls"
	SecurityInsecure = "insecure"
	AccountCreate    = "create"
	AccountExisting  = "existing"

	ActionAddForest    = "add_forest"
	ActionRemoveForest = "remove_forest"
)

// Messages of the directories rules.
const (
	MsgNoForest      = "Add at least one directory: hybridsync needs a forest to synchronize."
	MsgForestAdded   = "This forest is already added. Remove it first to change how hybridsync connects to it."
	MsgEAGone        = "Enter the enterprise admin credentials for this forest again (remove it and add it): hybridsync keeps them only in memory, and the server restarted since you added it."
	MsgInsecureShown = "Plain LDAP sends everything, passwords included, unencrypted over the network. Use it only on an isolated test network."
)

// ForestCredentials are one-time credentials typed for a forest.
type ForestCredentials struct {
	User, Password string
	At             time.Time
}

// Vault keeps the enterprise admin credentials typed on Connect your directories
// until Configure uses them to create the connector account. It lives only in
// memory: the credentials are never stored, logged or put in a job's events.
type Vault struct {
	mu  sync.Mutex
	m   map[string]ForestCredentials
	TTL time.Duration // how long unused credentials are kept; 0 means 2 hours
}

func vaultKey(forest string) string { return strings.ToLower(strings.TrimSuffix(forest, ".")) }

// Put remembers credentials for a forest.
func (v *Vault) Put(forest string, c ForestCredentials) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.m == nil {
		v.m = map[string]ForestCredentials{}
	}
	c.At = time.Now()
	v.m[vaultKey(forest)] = c
}

// Get returns a forest's credentials while they are fresh.
func (v *Vault) Get(forest string) (ForestCredentials, bool) {
	if v == nil {
		return ForestCredentials{}, false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	c, ok := v.m[vaultKey(forest)]
	ttl := v.TTL
	if ttl == 0 {
		ttl = 2 * time.Hour
	}
	if ok && time.Since(c.At) > ttl {
		delete(v.m, vaultKey(forest))
		return ForestCredentials{}, false
	}
	return c, ok
}

// Drop forgets a forest's credentials.
func (v *Vault) Drop(forest string) {
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.m, vaultKey(forest))
}

var directoriesPage = Page{
	ID:      PageDirectories,
	Title:   "Connect your directories",
	Section: "Sync",
	Bind: func(a *Answers, f Form) {
		d := &a.Directories.Draft
		d.Forest = strings.TrimSuffix(strings.ToLower(f.str("forest")), ".")
		d.Host = f.str("host")
		d.Security = f.str("security")
		d.CAPEM = strings.TrimSpace(f.raw("ca_pem"))
		d.Account = f.str("account")
		d.User = f.str("user")
		d.password = f.raw("password")
	},
	Validate: func(_ context.Context, a *Answers, chk Checker) Errors {
		e := Errors{}
		if len(a.Directories.Forests) == 0 {
			e.Add("", MsgNoForest)
			return e
		}
		for _, fc := range a.Directories.Forests {
			if fc.Account == AccountCreate && fc.ConnectorUser == "" && chk != nil && !chk.HasAdminCredentials(fc.Forest) {
				e.Add("forest-"+fc.Forest, MsgEAGone)
			}
		}
		return e
	},
	Act: actDirectories,
	Notices: func(a *Answers) []Notice {
		var n []Notice
		for _, fc := range a.Directories.Forests {
			if fc.Security == SecurityInsecure {
				n = append(n, Notice{Level: "warn", About: "forests", Text: fc.Forest + " is connected over plain LDAP: passwords and data cross the network unencrypted."})
			}
		}
		return n
	},
}

func actDirectories(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
	d := &a.Directories
	switch {
	case action == ActionAddForest:
		e := validateDraft(d.Draft)
		for _, fc := range d.Forests {
			if strings.EqualFold(fc.Forest, d.Draft.Forest) {
				e.Add("forest", MsgForestAdded)
			}
		}
		if len(e) > 0 || chk == nil {
			return e
		}
		fc, err := chk.ConnectForest(ctx, d.Draft, d.Draft.password)
		if err != nil {
			e.Add("add", CheckMessage(err))
			return e
		}
		d.Forests = append(d.Forests, fc)
		d.Draft = ForestDraft{Security: SecurityLDAPS, Account: AccountCreate}
		return e
	case strings.HasPrefix(action, ActionRemoveForest+":"):
		name := strings.TrimPrefix(action, ActionRemoveForest+":")
		kept := d.Forests[:0]
		for _, fc := range d.Forests {
			if !strings.EqualFold(fc.Forest, name) {
				kept = append(kept, fc)
			} else if chk != nil {
				chk.ForgetAdminCredentials(fc.Forest)
				if sso, ok := chk.(interface{ ForgetSSOCredentials(string) }); ok {
					sso.ForgetSSOCredentials(fc.Forest)
				}
			}
		}
		d.Forests = kept
		return Errors{}
	}
	return Errors{"": "This page has no such button. Reload the page and try again."}
}

func validateDraft(d ForestDraft) Errors {
	e := Errors{}
	if msg := checkForestName(d.Forest); msg != "" {
		e.Add("forest", msg)
	}
	if d.Host != "" {
		host := d.Host
		if h, port, ok := strings.Cut(d.Host, ":"); ok && !strings.Contains(port, ":") {
			host = h
			// Atoi, not Sscanf: Sscanf takes "636x" for 636 and leaves the rest.
			if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
				e.Add("host", "After the colon, enter the port number, as in dc1.contoso.com:636.")
			}
		}
		if msg := checkHost(host); msg != "" {
			e.Add("host", msg)
		}
	}
	switch d.Security {
	case SecurityLDAPS, SecurityStartTLS, SecurityInsecure:
	default:
		e.Add("security", "Choose how to protect the connection.")
	}
	if d.CAPEM != "" && !strings.Contains(d.CAPEM, "-----BEGIN CERTIFICATE-----") {
		e.Add("ca_pem", "Paste the CA certificate in PEM form (-----BEGIN CERTIFICATE----- …).")
	}
	switch d.Account {
	case AccountCreate, AccountExisting:
	default:
		e.Add("account", "Choose Create new account or Use existing account.")
	}
	if msg := checkADUser(d.User); msg != "" {
		e.Add("user", msg)
	}
	if d.password == "" {
		e.Add("password", "Enter the password.")
	}
	if d.Account == AccountCreate && d.Security == SecurityInsecure {
		e.Add("security", "Creating the account sets its password, which AD accepts only over LDAPS or StartTLS.")
	}
	return e
}

// SecurityLabel names a connection's protection for people.
func SecurityLabel(s string) string {
	switch s {
	case SecurityLDAPS:
		return "LDAPS"
	case SecurityStartTLS:
		return "StartTLS"
	case SecurityInsecure:
		return "plain LDAP (insecure)"
	}
	return s
}

// checkForestName accepts a DNS name with at least two labels.
func checkForestName(n string) string {
	if n == "" {
		return "Enter the forest's DNS name, such as contoso.com."
	}
	if !strings.Contains(n, ".") {
		return "Enter the forest's full DNS name, such as contoso.com, not its NetBIOS name."
	}
	if msg := checkHost(n); msg != "" {
		return "This is not a valid DNS name."
	}
	return ""
}

// checkADUser accepts DOMAIN\user, domain.com\user and user@suffix.
func checkADUser(u string) string {
	if u == "" {
		return `Enter the account, as FABRIKAM\user, fabrikam.com\user or user@fabrikam.com.`
	}
	var user, domain string
	if d, n, ok := strings.Cut(u, `\`); ok {
		domain, user = d, n
	} else if n, d, ok := strings.Cut(u, "@"); ok {
		domain, user = d, n
	} else {
		return `Include the domain, as FABRIKAM\user, fabrikam.com\user or user@fabrikam.com.`
	}
	if domain == "" || user == "" || strings.ContainsAny(user, `\@/"[]:;|=,+*?<>`) {
		return `Enter the account as FABRIKAM\user, fabrikam.com\user or user@fabrikam.com.`
	}
	for _, r := range u {
		if unicode.IsControl(r) {
			return "The account name can't contain control characters."
		}
	}
	return ""
}

// HasExchangeSchema reports whether every added forest has the Exchange schema
// attributes (the condition for group writeback) and whether any forest is added.
func (d Directories) HasExchangeSchema() (all, any bool) {
	if len(d.Forests) == 0 {
		return false, false
	}
	for _, fc := range d.Forests {
		if !fc.HasExchange {
			return false, true
		}
	}
	return true, true
}

package setup

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/hybridsync/hybridsync/engine/auth"
)

// Components is the Install required components page.
type Components struct {
	CustomLocation bool   `json:"customLocation"`
	Location       string `json:"location"`

	UseSQLServer  bool   `json:"useSqlServer"`
	SQLServer     string `json:"sqlServer"`
	SQLInstance   string `json:"sqlInstance"` // NAME, NAME,PORT or ,PORT
	SQLDatabase   string `json:"sqlDatabase"`
	SQLPermission string `json:"sqlPermission"` // "sa" or "dbo"
	SQLLogin      string `json:"sqlLogin"`
	SQLPassword   string `json:"sqlPassword,omitempty"` // sealed
	SQLTrustCert  bool   `json:"sqlTrustCert"`

	UseServiceAccount      bool   `json:"useServiceAccount"`
	ServiceAccountType     string `json:"serviceAccountType"` // "managed" or "domain"
	ServiceAccountName     string `json:"serviceAccountName"`
	ServiceAccountPassword string `json:"serviceAccountPassword,omitempty"` // sealed

	CustomGroups bool              `json:"customGroups"`
	GroupNames   map[string]string `json:"groupNames,omitempty"` // role key -> name

	ImportSettings bool      `json:"importSettings"`
	Imported       *Imported `json:"imported,omitempty"`

	// Typed in this request and not yet sealed; never saved as they are.
	newSQLPassword     string
	newServicePassword string
	upload             *Upload
}

// Imported records the settings file that was imported.
type Imported struct {
	FileName   string `json:"fileName"`
	ExportedAt string `json:"exportedAt"`
	ExportedBy string `json:"exportedBy"`
	Version    string `json:"productVersion"`
}

const (
	DefaultDatabaseName = "HybridSync"
	PermissionSA        = "sa"
	PermissionDBO       = "dbo"
	AccountManaged      = "managed"
	AccountDomain       = "domain"
)

// Messages of the components rules.
const (
	MsgDatabaseHoldsData = "The HybridSync database already contains data and cannot be overwritten. Please remove the existing database and try again."
	MsgGroupsLocal       = "The groups must be local on the server. They can't be located in the domain."
)

// DatabaseHoldsDataFix is the seed's fix, shown beside MsgDatabaseHoldsData.
var DatabaseHoldsDataFix = []string{
	"Check the database that an earlier hybridsync install used, and make sure that it is no longer being used.",
	"Back up the database.",
	"Delete the database (for the embedded LocalDB, the hybridsync.db file and its -wal and -shm files in that location; for SQL Server, in SQL Server Management Studio: connect to the instance, right-click the database, select Delete, then OK).",
	"Then select Next again to retry.",
}

// GroupName returns the configured name of a role's sync group.
func (c Components) GroupName(r auth.Role) string {
	if c.CustomGroups {
		if n := c.GroupNames[string(r)]; n != "" {
			return n
		}
	}
	return auth.DefaultGroupNames[r]
}

// SyncGroupNames returns every role's group name.
func (c Components) SyncGroupNames() map[string]string {
	out := map[string]string{}
	for _, r := range auth.Roles {
		out[string(r)] = c.GroupName(r)
	}
	return out
}

var componentsPage = Page{
	ID:      PageComponents,
	Title:   "Install required components",
	Section: "Required components",
	Bind:    bindComponents,
	Validate: func(ctx context.Context, a *Answers, chk Checker) Errors {
		return validateComponents(ctx, a, chk)
	},
	Notices: func(a *Answers) []Notice {
		c := a.Components
		var n []Notice
		if c.UseServiceAccount && c.UseSQLServer && c.SQLPermission == PermissionDBO {
			n = append(n, Notice{Level: "warn", About: "use_service_account", Text: "Creating a SQL sign-in for the service account needs SA permissions. With DBO permissions, " +
				"your SQL administrator must create the service account's login and make it an owner of the database beforehand."})
		}
		if c.UseSQLServer && c.SQLTrustCert {
			n = append(n, Notice{Level: "warn", About: "sql_trust_cert", Text: "The SQL Server's certificate will not be validated. Use this only on a network you trust."})
		}
		return n
	},
}

func bindComponents(a *Answers, f Form) {
	c := &a.Components
	c.CustomLocation = f.on("custom_location")
	c.Location = f.str("location")
	c.UseSQLServer = f.on("use_sql")
	c.SQLServer = f.str("sql_server")
	c.SQLInstance = f.str("sql_instance")
	c.SQLDatabase = f.str("sql_database")
	c.SQLPermission = f.str("sql_permission")
	c.SQLLogin = f.str("sql_login")
	c.newSQLPassword = f.raw("sql_password")
	c.SQLTrustCert = f.on("sql_trust_cert")
	c.UseServiceAccount = f.on("use_service_account")
	c.ServiceAccountType = f.str("service_account_type")
	c.ServiceAccountName = f.str("service_account_name")
	c.newServicePassword = f.raw("service_account_password")
	c.CustomGroups = f.on("custom_groups")
	c.GroupNames = map[string]string{}
	for _, r := range auth.Roles {
		c.GroupNames[string(r)] = f.str("group_" + string(r))
	}
	c.ImportSettings = f.on("import_settings")
	c.upload = f.File
}

func validateComponents(ctx context.Context, a *Answers, chk Checker) Errors {
	c := &a.Components
	e := Errors{}
	if c.CustomLocation {
		if msg := checkPath(c.Location); msg != "" {
			e.Add("location", msg)
		} else if chk != nil {
			if err := chk.CheckLocation(ctx, c.Location, c.UseSQLServer); err != nil {
				e.Add("location", CheckMessage(err))
			}
		}
	}
	if c.UseSQLServer {
		if msg := checkHost(c.SQLServer); msg != "" {
			e.Add("sql_server", msg)
		}
		if _, _, msg := ParseInstance(c.SQLInstance); msg != "" {
			e.Add("sql_instance", msg)
		}
		if msg := checkDatabaseName(c.SQLDatabase); msg != "" {
			e.Add("sql_database", msg)
		}
		if c.SQLPermission != PermissionSA && c.SQLPermission != PermissionDBO {
			e.Add("sql_permission", "Choose whether you have SQL Server administrator (SA) or database owner (DBO) permissions.")
		}
		if c.SQLLogin == "" {
			e.Add("sql_login", "Enter the SQL login to connect with.")
		} else if strings.ContainsAny(c.SQLLogin, `\`) {
			e.Add("sql_login", "Enter a SQL Server login. Windows authentication is not available from hybridsync's Linux host.")
		}
		if c.newSQLPassword == "" && c.SQLPassword == "" {
			e.Add("sql_password", "Enter the SQL login's password.")
		}
		if len(e) == 0 && chk != nil {
			if err := chk.CheckSQLServer(ctx, *c); err != nil {
				e.Add("sql_server", CheckMessage(err))
			}
		}
	}
	if c.UseServiceAccount {
		switch c.ServiceAccountType {
		case AccountManaged:
			if msg := checkAccountName(c.ServiceAccountName, true); msg != "" {
				e.Add("service_account_name", msg)
			}
		case AccountDomain:
			if msg := checkAccountName(c.ServiceAccountName, false); msg != "" {
				e.Add("service_account_name", msg)
			}
			if c.newServicePassword == "" && c.ServiceAccountPassword == "" {
				e.Add("service_account_password", "Enter the service account's password.")
			}
		default:
			e.Add("service_account_type", "Choose a managed service account or a domain account.")
		}
	}
	if c.CustomGroups {
		seen := map[string]string{}
		for _, r := range auth.Roles {
			field := "group_" + string(r)
			name := c.GroupNames[string(r)]
			if msg := checkGroupName(name); msg != "" {
				e.Add(field, msg)
				continue
			}
			key := strings.ToLower(name)
			if other, dup := seen[key]; dup {
				e.Add(field, fmt.Sprintf("This name is already used for %s. Each group needs its own name.", other))
				continue
			}
			seen[key] = r.Label()
		}
	}
	if c.ImportSettings {
		switch {
		case c.upload != nil:
			exp, err := ParseExport(c.upload.Data)
			if err != nil {
				e.Add("settings_file", err.Error())
				break
			}
			// Applied even when another field has an error: a browser can't
			// put a chosen file back into the form, so it must not be lost.
			exp.ApplyTo(a)
			a.Components.Imported = &Imported{FileName: c.upload.Name, ExportedAt: exp.ExportedAt, ExportedBy: exp.ExportedBy, Version: exp.Product.Version}
		case c.Imported == nil:
			e.Add("settings_file", "Choose a settings file that hybridsync exported.")
		}
	}
	return e
}

func checkPath(p string) string {
	switch {
	case p == "":
		return "Enter the folder to install to."
	case !filepath.IsAbs(p):
		return "Enter an absolute path, such as /var/lib/hybridsync."
	case len(p) > 1024:
		return "Use a path of at most 1,024 characters."
	case strings.ContainsRune(p, 0):
		return "The path contains a character that a folder name can't hold."
	}
	clean := filepath.Clean(p)
	for _, sys := range []string{"/proc", "/sys", "/dev"} {
		if clean == sys || strings.HasPrefix(clean, sys+"/") {
			return "Choose a folder outside " + sys + "."
		}
	}
	if clean == "/" {
		return "Choose a folder, not the root of the file system."
	}
	return ""
}

// checkHost accepts a DNS name, an IPv4 or an IPv6 address.
func checkHost(h string) string {
	if h == "" {
		return "Enter the SQL Server's host name or address."
	}
	if strings.ContainsAny(h, `\,`) {
		return `Enter only the host name here; put the instance name (and ",port") in Instance name.`
	}
	if net.ParseIP(strings.Trim(h, "[]")) != nil {
		return ""
	}
	if len(h) > 253 {
		return "A host name has at most 253 characters."
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "This is not a valid host name."
		}
		for _, r := range label {
			if !(r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '-') {
				return "This is not a valid host name."
			}
		}
	}
	return ""
}

// ParseInstance splits "NAME", "NAME,PORT" or ",PORT"; empty is the default
// instance. It returns what is wrong, or "".
func ParseInstance(s string) (name string, port int, msg string) {
	if s == "" {
		return "", 0, ""
	}
	name, portText, hasPort := strings.Cut(s, ",")
	name = strings.TrimSpace(name)
	if name != "" {
		if len(name) > 16 {
			return "", 0, "An instance name has at most 16 characters."
		}
		for i, r := range name {
			ok := r < unicode.MaxASCII && (unicode.IsLetter(r) || r == '_' || (i > 0 && (unicode.IsDigit(r) || r == '$')))
			if !ok {
				return "", 0, "An instance name starts with a letter or _ and holds letters, digits, _ and $."
			}
		}
	}
	if hasPort {
		p, err := strconv.Atoi(strings.TrimSpace(portText))
		if err != nil || p < 1 || p > 65535 {
			return "", 0, `After the comma, enter the port number (1–65535), as in "SQLEXPRESS,1433".`
		}
		port = p
	}
	return name, port, ""
}

func checkDatabaseName(n string) string {
	if n == "" {
		return "Enter the name of the hybridsync database."
	}
	if len(n) > 128 {
		return "A database name has at most 128 characters."
	}
	for i, r := range n {
		ok := r < unicode.MaxASCII && (unicode.IsLetter(r) || r == '_' || (i > 0 && (unicode.IsDigit(r) || strings.ContainsRune("@$#", r))))
		if !ok {
			return "Use a name that starts with a letter or _ and holds letters, digits, _, @, $ and #."
		}
	}
	return ""
}

// checkAccountName accepts DOMAIN\name or name@domain.tld; a managed service
// account's name ends with $.
func checkAccountName(n string, managed bool) string {
	if n == "" {
		return "Enter the account, as DOMAIN\\name or name@domain.com."
	}
	var user, domain string
	if d, u, ok := strings.Cut(n, `\`); ok {
		domain, user = d, u
	} else if u, d, ok := strings.Cut(n, "@"); ok {
		domain, user = d, u
	} else {
		return "Include the domain, as DOMAIN\\name or name@domain.com: the account must be a domain account."
	}
	if domain == "" || domain == "." || user == "" || strings.ContainsAny(user, `\@/"[]:;|=,+*?<>`) {
		return "Enter the account as DOMAIN\\name or name@domain.com."
	}
	if managed && !strings.HasSuffix(user, "$") {
		return "A managed service account's name ends with $, as in CONTOSO\\hybridsync$."
	}
	if !managed && strings.HasSuffix(user, "$") {
		return "Names ending in $ are managed service accounts; choose that option, or enter a user account."
	}
	return ""
}

// checkGroupName applies the rules for local group names.
func checkGroupName(n string) string {
	switch {
	case n == "":
		return "Enter a group name."
	case strings.ContainsAny(n, `\@`):
		return MsgGroupsLocal
	case len([]rune(n)) > 256:
		return "A group name has at most 256 characters."
	case strings.Trim(n, ". ") == "":
		return "A group name can't consist only of dots and spaces."
	case strings.ContainsAny(n, `"/[]:;|=,+*?<>`):
		return `A group name can't contain any of " / [ ] : ; | = , + * ? < >`
	}
	for _, r := range n {
		if unicode.IsControl(r) {
			return "A group name can't contain control characters."
		}
	}
	return ""
}

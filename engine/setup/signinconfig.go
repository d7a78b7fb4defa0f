package setup

import (
	"context"
	"net"
	"net/mail"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/entra"
)

// SignInConfig is the Microsoft Entra sign-in configuration page's answers: the
// on-premises attribute users sign in with, and the UPN suffixes of the forests
// as they were last read.
type SignInConfig struct {
	// Attribute becomes the users' sign-in name in Microsoft Entra ID:
	// userPrincipalName (the default; "" means it too) or an alternate ID.
	Attribute string `json:"attribute,omitempty"`
	// Suffixes is the last list read: every domain name and uPNSuffix of every
	// forest on Connect your directories.
	Suffixes []UPNSuffix `json:"suffixes,omitempty"`
	// ReadAt is when the list was read (RFC 3339, UTC): the oldest of its
	// forests' reads.
	ReadAt string `json:"readAt,omitempty"`
	// SamplesOf is the attribute whose sample values were asked for (Show
	// sample values); the page shows them while that attribute is chosen.
	SamplesOf string `json:"samplesOf,omitempty"`
}

// UPNSuffix is one UPN suffix of a forest.
type UPNSuffix struct {
	Forest   string `json:"forest"`
	Suffix   string `json:"suffix"`
	Kind     string `json:"kind"` // SuffixDomain or SuffixUPN
	Routable bool   `json:"routable"`
	ReadAt   string `json:"readAt,omitempty"`
}

// Kinds of UPN suffix.
const (
	SuffixDomain = "domain"    // a domain's DNS name
	SuffixUPN    = "uPNSuffix" // an extra suffix of the forest's Partitions container
)

// AttributeUPN is the default sign-in attribute.
const AttributeUPN = "userPrincipalName"

// Actions of the page's own buttons.
const (
	ActionRefreshSuffixes = "refresh"
	ActionShowSamples     = "show_samples"
)

// sampleCount is how many sample values are read from each forest.
const sampleCount = 5

// States of a UPN suffix against the tenant. Until hybridsync connects to a
// tenant (Connect to Microsoft Entra ID) every suffix reads
// StateTenantNotConnected: no other state is ever invented.
const (
	StateVerified           = entra.StateVerified
	StateNotVerified        = entra.StateNotVerified
	StateNotAdded           = entra.StateNotAdded
	StateTenantNotConnected = "tenant not connected"
)

// Messages of the sign-in configuration rules.
const (
	MsgNonRoutable = "Microsoft Entra ID can't verify a non-routable suffix, so users whose UPN ends with it get the tenant's initial " +
		"onmicrosoft.com domain as their sign-in suffix instead. Add a routable UPN suffix for them, or choose an alternate ID."
	MsgPTANeedsVerified = "When you enable pass-through authentication, you must have at least one verified domain to continue through the custom installation process."
	MsgPTAEnforcedLater = "hybridsync enforces this once the tenant is connected: no domain can be verified before that."
	MsgAlternateID      = "Alternate IDs aren't compatible with all Microsoft 365 workloads. For more information, see Configuring alternate sign-in IDs."
	MsgRecommendUPN     = "Microsoft recommends that you keep the default attribute userPrincipalName."
	MsgTenantState      = "hybridsync is not connected to a Microsoft Entra tenant yet, so it can't tell which of these domains are verified there. Sign in on Connect to Microsoft Entra ID."
	MsgNoSchema         = "hybridsync can't read the forests' schema to check this attribute. Try again; if it keeps failing, the server log has the details."
)

// signInConfigChecker is what the page needs from the Checker, beyond the
// Checker interface: reading the forests' UPN suffixes and schema, and sample
// values. StoreChecker implements it (signinconfig_check.go).
type signInConfigChecker interface {
	// SignInUPNSuffixes reads a forest's domains' DNS names and its uPNSuffixes.
	SignInUPNSuffixes(ctx context.Context, fc ForestConn) (domains, suffixes []string, err error)
	// SchemaAttributes reads a forest's attributeSchema objects.
	SchemaAttributes(ctx context.Context, fc ForestConn) ([]directory.Attribute, error)
	// UserAttributes reads which attributes a user object may have (lower-case
	// names; see UserClassAttributes).
	UserAttributes(ctx context.Context, fc ForestConn) (map[string]bool, error)
	// SampleValues reads up to n values of attr under the forest's root.
	SampleValues(ctx context.Context, fc ForestConn, attr string, n int) ([]string, error)
}

var signInConfigPage = Page{
	ID:      PageSignInConfig,
	Title:   "Microsoft Entra sign-in configuration",
	Section: "Sync",
	Bind: func(a *Answers, f Form) {
		attr := f.str("attribute")
		if attr == "" {
			attr = AttributeUPN
		}
		a.SignInConfig.Attribute = attr
		if !strings.EqualFold(a.SignInConfig.SamplesOf, attr) {
			a.SignInConfig.SamplesOf = "" // another attribute: its samples are asked for again
		}
		a.SignInConfig.Suffixes, a.SignInConfig.ReadAt = currentSuffixes(a.SignInConfig, a.Directories.Forests)
	},
	Validate: func(ctx context.Context, a *Answers, chk Checker) Errors {
		e := Errors{}
		if msg := validateSignInAttribute(ctx, a, chk); msg != "" {
			e.Add("attribute", msg)
		}
		if blocking, _ := verifiedDomainRule(a); blocking != "" {
			e.Add("", blocking)
		}
		return e
	},
	Notices: signInConfigNotices,
	View:    func(ctx context.Context, a *Answers, chk Checker) any { return LoadSignInConfig(ctx, a, chk) },
	Act:     actSignInConfig,
}

// SignInAttribute is the chosen sign-in attribute.
func (s SignInConfig) SignInAttribute() string {
	if s.Attribute == "" {
		return AttributeUPN
	}
	return s.Attribute
}

// AlternateID reports whether an attribute other than userPrincipalName is chosen.
func (s SignInConfig) AlternateID() bool {
	return !strings.EqualFold(s.SignInAttribute(), AttributeUPN)
}

// --- The tenant.

// tenantConnected reports whether the wizard has signed in to a tenant (on
// Connect to Microsoft Entra ID) that can say which domains are verified.
func tenantConnected(a *Answers) bool { return a.ConnectEntra.Tenant != nil }

// SuffixState is a UPN suffix's state against the tenant, as last read:
// Verified, Not Verified, Not Added, or, with no tenant connection,
// "tenant not connected".
func SuffixState(a *Answers, s UPNSuffix) string {
	if !tenantConnected(a) {
		return StateTenantNotConnected
	}
	return a.ConnectEntra.Tenant.DomainState(s.Suffix)
}

// SuffixInstead says what users whose UPN ends with a suffix that is not
// verified get instead (the tenant's initial onmicrosoft.com domain), and
// how to verify it when the tenant has it already.
func SuffixInstead(a *Answers, s UPNSuffix, state string) string {
	t := a.ConnectEntra.Tenant
	if state == StateVerified || state == StateTenantNotConnected || t == nil {
		return ""
	}
	msg := "Users with this suffix sign in as user@" + t.InitialDomain + " instead, until you add and verify the domain in Microsoft Entra ID and select refresh."
	if d, ok := t.Domain(s.Suffix); ok && d.VerifyTXT != "" {
		msg += " To verify it, publish the DNS TXT record \"" + d.VerifyTXT + "\" at " + d.Name + "."
	}
	return msg
}

// tenantRefresher reads the tenant's domains again (StoreChecker, connectentra_check.go).
type tenantRefresher interface {
	EntraRefreshTenant(ctx context.Context, c ConnectEntra) (entra.Tenant, error)
}

// verifiedDomainRule applies the seed's rule "pass-through authentication needs
// at least one verified domain" to the forests' UPN suffixes. Until the tenant
// is connected no domain can be verified, so the rule is a warning; once
// tenantConnected is true it blocks.
func verifiedDomainRule(a *Answers) (blocking, warning string) {
	if a.SignIn.Method != MethodPTA {
		return "", ""
	}
	if !tenantConnected(a) {
		return "", MsgPTANeedsVerified + " " + MsgPTAEnforcedLater
	}
	suffixes, _ := currentSuffixes(a.SignInConfig, a.Directories.Forests)
	for _, s := range suffixes {
		if SuffixState(a, s) == StateVerified {
			return "", ""
		}
	}
	return MsgPTANeedsVerified, ""
}

// --- UPN suffixes.

// currentSuffixes is the suffix list for the forests on Connect your
// directories: a forest's entries as last read, unless the forest was
// connected since (then what was read when it was connected); removed forests'
// entries are dropped. It also returns when the list was read.
func currentSuffixes(s SignInConfig, forests []ForestConn) ([]UPNSuffix, string) {
	byForest := map[string][]UPNSuffix{}
	for _, u := range s.Suffixes {
		k := strings.ToLower(u.Forest)
		byForest[k] = append(byForest[k], u)
	}
	var out []UPNSuffix
	for _, fc := range forests {
		rows := byForest[strings.ToLower(fc.Forest)]
		if len(rows) == 0 || rows[0].ReadAt < fc.CheckedAt {
			rows = forestSuffixes(fc.Forest, domainNames(fc), fc.UPNSuffixes, fc.CheckedAt)
		}
		out = append(out, rows...)
	}
	return out, oldestRead(out)
}

func domainNames(fc ForestConn) []string {
	var out []string
	for _, d := range fc.Domains {
		out = append(out, d.DNS)
	}
	return out
}

// forestSuffixes lists a forest's suffixes: its domains' names in order, then
// its uPNSuffixes sorted, each once.
func forestSuffixes(forest string, domains, upnSuffixes []string, readAt string) []UPNSuffix {
	var out []UPNSuffix
	seen := map[string]bool{}
	add := func(name, kind string) {
		name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
		if name == "" || seen[name] {
			return
		}
		seen[name] = true
		out = append(out, UPNSuffix{Forest: forest, Suffix: name, Kind: kind, Routable: Routable(name) == "", ReadAt: readAt})
	}
	for _, d := range domains {
		add(d, SuffixDomain)
	}
	sorted := slices.Clone(upnSuffixes)
	sort.Strings(sorted)
	for _, u := range sorted {
		add(u, SuffixUPN)
	}
	return out
}

func oldestRead(rows []UPNSuffix) string {
	oldest := ""
	for i, r := range rows {
		if i == 0 || r.ReadAt < oldest {
			oldest = r.ReadAt
		}
	}
	return oldest
}

// nonPublicTLDs are top-level names that no public registry delegates, so a
// UPN suffix ending in one can never be verified in Microsoft Entra ID. A name
// is also non-routable when it has a single label, is an IP address, or its
// last label is not a plausible TLD (digits, or characters other than letters
// outside an xn-- IDN label).
var nonPublicTLDs = map[string]string{
	"local":       "RFC 6762 reserves it for multicast DNS",
	"localhost":   "RFC 6761 reserves it for the host itself",
	"localdomain": "a common default of private networks, never delegated",
	"test":        "RFC 2606 reserves it for testing",
	"example":     "RFC 2606 reserves it for documentation",
	"invalid":     "RFC 2606 reserves it for invalid names",
	"onion":       "RFC 7686 reserves it for Tor",
	"alt":         "RFC 9476 reserves it for non-DNS names",
	"arpa":        "it is DNS infrastructure (home.arpa is RFC 8375's private home network)",
	"internal":    "ICANN reserves it for private use (2024)",
	"corp":        "ICANN will not delegate it (name collisions, 2018)",
	"home":        "ICANN will not delegate it (name collisions, 2018)",
	"mail":        "ICANN will not delegate it (name collisions, 2018)",
	"lan":         "a common private name, never delegated",
	"intranet":    "a common private name, never delegated",
	"intra":       "a common private name, never delegated",
	"private":     "a common private name, never delegated",
	"priv":        "a common private name, never delegated",
	"prv":         "a common private name, never delegated",
	"pvt":         "a common private name, never delegated",
	"loc":         "a common private name, never delegated",
	"domain":      "a common private name, never delegated",
	"workgroup":   "a common private name, never delegated",
}

// Routable says why a UPN suffix is not routable on the internet (and so can't
// be verified in Microsoft Entra ID), or "" when it may be.
func Routable(suffix string) string {
	s := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(suffix)), ".")
	if s == "" {
		return "it is empty"
	}
	if net.ParseIP(s) != nil {
		return "it is an IP address"
	}
	labels := strings.Split(s, ".")
	if len(labels) == 1 {
		return "it is a single-label name"
	}
	for _, l := range labels {
		if !dnsLabel(l) {
			return "it is not a valid DNS name"
		}
	}
	tld := labels[len(labels)-1]
	if why, ok := nonPublicTLDs[tld]; ok {
		return "." + tld + " is not a public top-level domain: " + why
	}
	if strings.HasPrefix(tld, "xn--") {
		return ""
	}
	if len([]rune(tld)) < 2 || strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsLetter(r) }) >= 0 {
		return "." + tld + " is not a public top-level domain"
	}
	return ""
}

func dnsLabel(l string) bool {
	if l == "" || len(l) > 63 || strings.HasPrefix(l, "-") || strings.HasSuffix(l, "-") {
		return false
	}
	for _, r := range l {
		if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// --- The sign-in attribute.

// stringSyntaxes are the attributeSyntax OIDs of text a user can sign in with:
// case-sensitive, case-insensitive, printable/IA5 and Unicode strings (a
// printable string, though, can't hold the at sign: see attributeProblem).
var stringSyntaxes = map[string]bool{"2.5.5.3": true, "2.5.5.4": true, "2.5.5.5": true, "2.5.5.12": true}

// omPrintableString is the oMSyntax of 2.5.5.5 as PrintableString, whose
// character set has no at sign (2.5.5.5 with oMSyntax 22 is IA5, which has).
const omPrintableString = 19

// SignInSchema is one forest's schema as the sign-in attribute sees it.
type SignInSchema struct {
	Attributes []directory.Attribute
	// User are the attributes a user object may have (lower-case names), see
	// UserClassAttributes.
	User map[string]bool
}

// SchemaClass is one classSchema object of a forest's schema.
type SchemaClass struct {
	Name       string   // lDAPDisplayName
	SubClassOf string   // its superclass (top is its own)
	Auxiliary  []string // auxiliaryClass and systemAuxiliaryClass
	Attributes []string // mayContain, systemMayContain, mustContain, systemMustContain
}

// UserClassAttributes are the attributes (lower-case names) an object of
// class user may have: those of user, of its superclasses and of their
// auxiliary classes (and theirs), as Active Directory allows them.
func UserClassAttributes(classes []SchemaClass) map[string]bool {
	byName := map[string]SchemaClass{}
	for _, c := range classes {
		byName[strings.ToLower(c.Name)] = c
	}
	out, seen := map[string]bool{}, map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		k := strings.ToLower(name)
		if k == "" || seen[k] {
			return
		}
		seen[k] = true
		c, ok := byName[k]
		if !ok {
			return
		}
		for _, at := range c.Attributes {
			out[strings.ToLower(at)] = true
		}
		for _, aux := range c.Auxiliary {
			visit(aux)
		}
		visit(c.SubClassOf)
	}
	visit("user")
	return out
}

// attributeProblem says why one forest's definition of an attribute can't be
// the sign-in attribute, or "". The sign-in ID is a user's, an address of the
// form user@contoso.com (RFC 822), and in Active Directory the attribute
// can't be multivalued.
func attributeProblem(at directory.Attribute, user map[string]bool) string {
	switch {
	case !user[strings.ToLower(at.Name)]:
		return at.Name + " is not an attribute of user objects, so it can't hold your users' sign-in IDs."
	case !at.SingleValued:
		return at.Name + " is multivalued in Active Directory: the sign-in attribute can't be multivalued, even if it has only a single value."
	case at.SystemOnly:
		return at.Name + " is system-only: only Active Directory itself sets it, so it can't hold your users' sign-in IDs."
	case at.SearchFlags&confidentialFlag != 0:
		return at.Name + " is confidential in Active Directory: only accounts given extra rights can read it, so it can't hold your users' sign-in IDs."
	case !stringSyntaxes[at.Syntax]:
		return at.Name + " is not a string attribute (it is " + at.Type + "): the sign-in ID is an address such as user@contoso.com."
	case at.Syntax == "2.5.5.5" && at.OMSyntax == omPrintableString:
		return at.Name + " is a printable string, which can't hold the at sign (@) of an address such as user@contoso.com."
	}
	return ""
}

// AlternateIDs lists the attributes offered as an alternate ID: the
// single-valued string attributes of user objects that can hold an address
// (not system-only, not confidential) in the forests' schemas, each once (by
// name, case-insensitively), sorted; an attribute that fails in any forest
// that defines it is left out. userPrincipalName itself is not in it.
func AlternateIDs(schemas ...SignInSchema) []string {
	ok, name := map[string]bool{}, map[string]string{}
	for _, schema := range schemas {
		for _, at := range schema.Attributes {
			k := strings.ToLower(at.Name)
			good := attributeProblem(at, schema.User) == ""
			if prev, seen := ok[k]; seen {
				good = good && prev
			} else {
				name[k] = at.Name // the first forest's spelling
			}
			ok[k] = good
		}
	}
	var out []string
	for k, good := range ok {
		if good && k != strings.ToLower(AttributeUPN) {
			out = append(out, name[k])
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i]) < strings.ToLower(out[j]) })
	return out
}

// CheckAlternateID says why attr can't be the sign-in attribute given the
// forests' schemas, or "" when it is one of AlternateIDs (or userPrincipalName).
func CheckAlternateID(attr string, schemas ...SignInSchema) string {
	if strings.EqualFold(attr, AttributeUPN) {
		return ""
	}
	if msg := attributeNameProblem(attr); msg != "" {
		return msg
	}
	found := false
	for _, schema := range schemas {
		for _, at := range schema.Attributes {
			if strings.EqualFold(at.Name, attr) {
				found = true
				if msg := attributeProblem(at, schema.User); msg != "" {
					return msg
				}
			}
		}
	}
	if !found {
		return attr + " is not an attribute of your forests' schema. Choose one from the list."
	}
	return ""
}

// attributeNameProblem checks an LDAP attribute name's form (a letter, then
// letters, digits and hyphens).
func attributeNameProblem(attr string) string {
	if attr == "" {
		return "Choose the attribute users sign in with."
	}
	for i, r := range attr {
		letter := r < unicode.MaxASCII && unicode.IsLetter(r)
		if !(letter || i > 0 && (r == '-' || r >= '0' && r <= '9')) || len(attr) > 128 {
			return "This is not an attribute name. Choose one from the list."
		}
	}
	return ""
}

func validateSignInAttribute(ctx context.Context, a *Answers, chk Checker) string {
	attr := a.SignInConfig.SignInAttribute()
	if strings.EqualFold(attr, AttributeUPN) {
		return ""
	}
	if msg := attributeNameProblem(attr); msg != "" {
		return msg
	}
	sc, ok := chk.(signInConfigChecker)
	if !ok {
		return MsgNoSchema
	}
	var schemas []SignInSchema
	for _, fc := range a.Directories.Forests {
		schema, err := readSignInSchema(ctx, sc, fc)
		if err != nil {
			return fc.Forest + ": " + CheckMessage(err)
		}
		schemas = append(schemas, schema)
	}
	return CheckAlternateID(attr, schemas...)
}

// readSignInSchema reads a forest's attributes and those of its user class.
func readSignInSchema(ctx context.Context, sc signInConfigChecker, fc ForestConn) (SignInSchema, error) {
	attrs, err := sc.SchemaAttributes(ctx, fc)
	if err != nil {
		return SignInSchema{}, err
	}
	user, err := sc.UserAttributes(ctx, fc)
	if err != nil {
		return SignInSchema{}, err
	}
	return SignInSchema{Attributes: attrs, User: user}, nil
}

// CheckRFC822 says why a value is not an RFC 822 addr-spec — a bare address
// local@domain — or "" when it is one. A display name, angle brackets or a
// comment are refused, and so are characters outside ASCII, which RFC 822
// doesn't allow.
func CheckRFC822(v string) string {
	switch {
	case v == "":
		return "it is empty"
	case v != strings.TrimSpace(v):
		return "it has spaces around it"
	}
	for _, r := range v {
		if r > unicode.MaxASCII {
			return "it has characters outside ASCII"
		}
		if unicode.IsControl(r) {
			return "it has control characters"
		}
	}
	addr, err := mail.ParseAddress(v)
	if err != nil {
		return "it is not an address of the form local@domain"
	}
	if addr.Name != "" || strings.ContainsAny(v, "<>()") {
		return "it is not a bare address local@domain (it has a display name, angle brackets or a comment)"
	}
	return ""
}

// --- The page.

// SignInConfigView is what the page shows beyond its answers.
type SignInConfigView struct {
	Suffixes []SuffixRow
	ReadAt   string
	// AlternateIDs are the attributes offered besides userPrincipalName.
	AlternateIDs []string
	// SamplesOf is the attribute whose sample values are shown ("" when
	// none were asked for), and Samples are its values, read from the forests.
	SamplesOf string
	Samples   []Sample
	// Errors say which forests could not be read, and why.
	Errors          []string
	TenantConnected bool
}

// SuffixRow is a UPN suffix with its state against the tenant.
type SuffixRow struct {
	UPNSuffix
	State string
	// Instead says what users with a suffix that is not verified get instead.
	Instead string
	// NotRoutable says why the suffix is not routable ("" when it is).
	NotRoutable string
}

// Sample is one value of the alternate ID and whether it breaks RFC 822.
type Sample struct {
	Forest, Value string
	Problem       string // why it is not an RFC 822 address; "" when it is
}

// LoadSignInConfig reads what the page shows: the suffix list (as last read),
// the alternate IDs the forests' schemas offer and, once asked for (Show
// sample values), sample values of the chosen attribute — userPrincipalName
// or an alternate ID the forests offer — from every forest.
func LoadSignInConfig(ctx context.Context, a *Answers, chk Checker) SignInConfigView {
	s := &a.SignInConfig
	s.Suffixes, s.ReadAt = currentSuffixes(*s, a.Directories.Forests)
	v := SignInConfigView{ReadAt: s.ReadAt, TenantConnected: tenantConnected(a)}
	for _, u := range s.Suffixes {
		state := SuffixState(a, u)
		v.Suffixes = append(v.Suffixes, SuffixRow{UPNSuffix: u, State: state, Instead: SuffixInstead(a, u, state), NotRoutable: Routable(u.Suffix)})
	}
	sc, ok := chk.(signInConfigChecker)
	if !ok {
		return v
	}
	var schemas []SignInSchema
	for _, fc := range a.Directories.Forests {
		schema, err := readSignInSchema(ctx, sc, fc)
		if err != nil {
			v.Errors = append(v.Errors, fc.Forest+": "+CheckMessage(err))
			continue
		}
		schemas = append(schemas, schema)
	}
	v.AlternateIDs = AlternateIDs(schemas...)
	attr := s.SignInAttribute()
	offered := !s.AlternateID() || slices.ContainsFunc(v.AlternateIDs, func(n string) bool { return strings.EqualFold(n, attr) })
	if !offered || !strings.EqualFold(s.SamplesOf, attr) {
		return v
	}
	v.SamplesOf = attr
	for _, fc := range a.Directories.Forests {
		vals, err := sc.SampleValues(ctx, fc, attr, sampleCount)
		if err != nil {
			v.Errors = append(v.Errors, fc.Forest+": "+CheckMessage(err))
			continue
		}
		for _, val := range vals {
			v.Samples = append(v.Samples, Sample{Forest: fc.Forest, Value: val, Problem: CheckRFC822(val)})
		}
	}
	return v
}

func actSignInConfig(ctx context.Context, a *Answers, action string, _ Form, chk Checker) Errors {
	e := Errors{}
	switch action {
	case ActionRefreshSuffixes:
		sc, ok := chk.(signInConfigChecker)
		if !ok {
			e.Add("refresh", "hybridsync can't read the forests here.")
			return e
		}
		now := time.Now().UTC().Format(time.RFC3339)
		old, _ := currentSuffixes(a.SignInConfig, a.Directories.Forests)
		var out []UPNSuffix
		for _, fc := range a.Directories.Forests {
			domains, suffixes, err := sc.SignInUPNSuffixes(ctx, fc)
			if err != nil {
				e.Add("refresh", fc.Forest+": "+CheckMessage(err)+" Its suffixes are as last read.")
				for _, u := range old {
					if strings.EqualFold(u.Forest, fc.Forest) {
						out = append(out, u)
					}
				}
				continue
			}
			out = append(out, forestSuffixes(fc.Forest, domains, suffixes, now)...)
		}
		a.SignInConfig.Suffixes, a.SignInConfig.ReadAt = out, oldestRead(out)
		if tenantConnected(a) {
			tr, ok := chk.(tenantRefresher)
			if !ok {
				e.Add("refresh", "hybridsync can't read the tenant here.")
				return e
			}
			t, err := tr.EntraRefreshTenant(ctx, a.ConnectEntra)
			if err != nil {
				e.Add("refresh", "The tenant's domains: "+wordEntra(err)+" Their states are as last read.")
				return e
			}
			a.ConnectEntra.Tenant = &t
		}
		return e
	case ActionShowSamples:
		// Bind kept the chosen attribute; the page shows its samples when it
		// is userPrincipalName or one the forests offer, and says why not
		// otherwise.
		a.SignInConfig.SamplesOf = ""
		if msg := validateSignInAttribute(ctx, a, chk); msg != "" {
			e.Add("attribute", msg)
			return e
		}
		a.SignInConfig.SamplesOf = a.SignInConfig.SignInAttribute()
		return e
	}
	return Errors{"": "This page has no such button. Reload the page and try again."}
}

func signInConfigNotices(a *Answers) []Notice {
	var n []Notice
	suffixes, _ := currentSuffixes(a.SignInConfig, a.Directories.Forests)
	var bad []string
	for _, u := range suffixes {
		if !u.Routable {
			bad = append(bad, u.Suffix)
		}
	}
	if len(bad) > 0 {
		n = append(n, Notice{Level: "warn", About: "suffixes", Text: "Not routable: " + strings.Join(bad, ", ") + ". " + MsgNonRoutable})
	}
	if a.SignInConfig.AlternateID() {
		n = append(n, Notice{Level: "warn", Text: MsgAlternateID, About: "attribute"})
	}
	if _, warning := verifiedDomainRule(a); warning != "" {
		n = append(n, Notice{Level: "warn", Text: warning, About: "suffixes"})
	}
	return n
}

// summarizeSignInConfig is the page's part of the summary.
func summarizeSignInConfig(a Answers) []SummaryRow {
	attr := AttributeUPN + " (recommended)"
	if a.SignInConfig.AlternateID() {
		attr = a.SignInConfig.SignInAttribute() + " (alternate ID)"
	}
	rows := []SummaryRow{{"Sign-in attribute", attr}}
	suffixes, _ := currentSuffixes(a.SignInConfig, a.Directories.Forests)
	for _, fc := range a.Directories.Forests {
		var parts []string
		for _, u := range suffixes {
			if !strings.EqualFold(u.Forest, fc.Forest) {
				continue
			}
			p := u.Suffix + ": " + SuffixState(&a, u)
			if !u.Routable {
				p += ", not routable"
			}
			parts = append(parts, p)
		}
		if len(parts) > 0 {
			rows = append(rows, SummaryRow{"UPN suffixes of " + fc.Forest, strings.Join(parts, "; ")})
		}
	}
	return rows
}

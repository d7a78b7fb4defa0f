package federation

import (
	"fmt"
	"regexp"
	"strings"
)

// hybridsync cannot run PowerShell on the AD FS servers (there is no
// maintained Go WinRM client), so it writes the deployment as Windows
// PowerShell scripts, one per server, that the administrator runs in order.
// Every value from the wizard is validated here and single-quoted in the
// scripts; no password is ever written into one (the certificate's is read
// with Read-Host -AsSecureString, the accounts' with Get-Credential).

// The relying party trust for Microsoft Entra ID as Entra Connect names it.
const (
	RelyingPartyName       = "Microsoft Office 365 Identity Platform"
	RelyingPartyIdentifier = "urn:federation:MicrosoftOnline"
	// EntraMetadataURL is Entra's WS-Federation metadata, which AD FS
	// monitors and updates the trust from.
	EntraMetadataURL = "https://nexus.microsoftonline-p.com/federationmetadata/2007-06/federationmetadata.xml"
	// sha256Signature is the token signing algorithm Entra Connect sets.
	sha256Signature = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
)

// Source anchors and the default sign-in attribute the wizard offers.
const (
	AnchorObjectGUID      = "objectGUID"
	AnchorConsistencyGuid = "mS-DS-ConsistencyGuid"
	DefaultUPNAttribute   = "userPrincipalName"
)

// Deployment is what the AD FS pages decided.
type Deployment struct {
	NewFarm               bool     // false: an existing farm gets only the relying party trust, re-created from scratch
	FederationServiceName string   // sts.corp.example.test
	DisplayName           string   // the federation service's display name
	CertThumbprint        string   // 40 hex digits
	CertFile              string   // the PFX file's name; the admin copies it next to each script
	Servers               []string // AD FS servers; Servers[0] is the primary
	Proxies               []string // Web Application Proxy servers
	GMSA                  string   // CORP\adfs-gmsa$ when a group managed service account is used
	ServiceUser           string   // CORP\svc-adfs when a domain user account is used
	CreateKDSRootKey      bool     // add a KDS root key before the gMSA (Enterprise Admin)
	Domain                string   // the federated Entra domain
	SourceAnchor          string   // AnchorObjectGUID or AnchorConsistencyGuid
	UPNAttribute          string   // userPrincipalName or an alternate login ID attribute such as mail
	MultipleDomains       bool     // the issuer is per domain: http://<domain>/adfs/services/trust/
}

// Script roles.
const (
	RolePrimary = "primary"
	RoleNode    = "node"
	RoleProxy   = "proxy"
	RoleTrust   = "trust"
)

// Script is one server's script.
type Script struct {
	Server   string // the server to run it on
	Role     string // RolePrimary, RoleNode, RoleProxy or RoleTrust
	FileName string // e.g. 1-primary-adfs1.ps1
	Text     string // Windows PowerShell, CRLF line ends
}

// DeploymentError is an input Scripts refuses: Field names the Deployment
// field, Msg is worded for the administrator.
type DeploymentError struct {
	Field string
	Msg   string
}

func (e *DeploymentError) Error() string { return e.Msg }

// IssuerURI is the issuer Entra must be given for the domain: the federation
// service's identifier http://<fsname>/adfs/services/trust, or with
// MultipleDomains the per-domain http://<domain>/adfs/services/trust/ that
// the issuerid claim rule issues (Entra refuses one issuer for two domains).
func IssuerURI(d Deployment) string {
	if d.MultipleDomains {
		return "http://" + strings.ToLower(strings.TrimSuffix(d.Domain, ".")) + "/adfs/services/trust/"
	}
	return "http://" + strings.ToLower(strings.TrimSuffix(d.FederationServiceName, ".")) + "/adfs/services/trust"
}

var (
	thumbprintRE = regexp.MustCompile(`^[0-9A-Fa-f]{40}$`)
	// ldapNameRE is an attribute's lDAPDisplayName.
	ldapNameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,127}$`)
	// samRE is what a sAMAccountName may hold (no " / \ [ ] : ; | = , + * ? < > @).
	samRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$`)
	// netbiosRE is a NetBIOS domain name.
	netbiosRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,14}$`)
	// pfxNameRE is a plain file name: no folder, no shell or PowerShell specials.
	pfxNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,120}\.(pfx|p12)$`)
)

// scriptHostName checks a DNS name (an FQDN, or a short computer name when
// short is true): letters, digits and hyphens.
func scriptHostName(s string, short bool) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 && !short {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return false
			}
		}
	}
	return true
}

// normalize validates d and returns it cleaned (trimmed, lower-case names,
// upper-case thumbprint, canonical anchor).
func normalize(d Deployment) (Deployment, error) {
	bad := func(field, format string, args ...any) (Deployment, error) {
		return Deployment{}, &DeploymentError{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	d.FederationServiceName = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d.FederationServiceName), "."))
	if !scriptHostName(d.FederationServiceName, false) {
		return bad("FederationServiceName", "Enter the federation service name as a full DNS name, for example sts.contoso.com.")
	}
	d.Domain = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d.Domain), "."))
	if !scriptHostName(d.Domain, false) {
		return bad("Domain", "Choose the Microsoft Entra domain to federate.")
	}
	switch {
	case strings.EqualFold(strings.TrimSpace(d.SourceAnchor), AnchorObjectGUID):
		d.SourceAnchor = AnchorObjectGUID
	case strings.EqualFold(strings.TrimSpace(d.SourceAnchor), AnchorConsistencyGuid):
		d.SourceAnchor = AnchorConsistencyGuid
	default:
		return bad("SourceAnchor", "The source anchor must be objectGUID or mS-DS-ConsistencyGuid, not %q.", d.SourceAnchor)
	}
	d.UPNAttribute = strings.TrimSpace(d.UPNAttribute)
	if d.UPNAttribute == "" {
		d.UPNAttribute = DefaultUPNAttribute
	}
	if !ldapNameRE.MatchString(d.UPNAttribute) {
		return bad("UPNAttribute", "%q is not an Active Directory attribute name.", d.UPNAttribute)
	}
	if len(d.Servers) == 0 {
		return bad("Servers", "Add at least one AD FS server.")
	}
	seen := map[string]string{}
	clean := func(field string, names []string) ([]string, error) {
		var out []string
		for _, n := range names {
			n = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(n), "."))
			if !scriptHostName(n, true) {
				return nil, &DeploymentError{Field: field, Msg: fmt.Sprintf("%q is not a valid server name.", n)}
			}
			if prev, dup := seen[n]; dup {
				return nil, &DeploymentError{Field: field, Msg: fmt.Sprintf("%s is listed twice (%s).", n, prev)}
			}
			seen[n] = field
			out = append(out, n)
		}
		return out, nil
	}
	var err error
	if d.Servers, err = clean("Servers", d.Servers); err != nil {
		return Deployment{}, err
	}
	if d.Proxies, err = clean("Proxies", d.Proxies); err != nil {
		return Deployment{}, err
	}
	if !d.NewFarm {
		return d, nil
	}
	d.DisplayName = strings.TrimSpace(d.DisplayName)
	if d.DisplayName == "" || len(d.DisplayName) > 128 || strings.ContainsFunc(d.DisplayName, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return bad("DisplayName", "Enter a display name for the federation service (one line, up to 128 characters).")
	}
	d.CertThumbprint = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(d.CertThumbprint), " ", ""))
	if !thumbprintRE.MatchString(d.CertThumbprint) {
		return bad("CertThumbprint", "The certificate thumbprint must be 40 hexadecimal digits.")
	}
	d.CertFile = strings.TrimSpace(d.CertFile)
	if !pfxNameRE.MatchString(d.CertFile) {
		return bad("CertFile", "The certificate file must be a plain .pfx or .p12 file name (letters, digits, spaces, . _ - ( )), without a folder.")
	}
	d.GMSA, d.ServiceUser = strings.TrimSpace(d.GMSA), strings.TrimSpace(d.ServiceUser)
	switch {
	case d.GMSA != "" && d.ServiceUser != "":
		return bad("GMSA", "Choose either a group managed service account or a domain user account, not both.")
	case d.GMSA == "" && d.ServiceUser == "":
		return bad("GMSA", "Choose the AD FS service account: a group managed service account or a domain user account.")
	case d.GMSA != "":
		dom, name, ok := strings.Cut(d.GMSA, `\`)
		name = strings.TrimSuffix(name, "$")
		if !ok || !netbiosRE.MatchString(dom) || !samRE.MatchString(name) || len(name) > 15 {
			return bad("GMSA", "Enter the group managed service account as DOMAIN\\name$ (a name of at most 15 characters).")
		}
		d.GMSA = strings.ToUpper(dom) + `\` + name + "$"
	default:
		if d.CreateKDSRootKey {
			return bad("CreateKDSRootKey", "A KDS root key is only needed for a group managed service account.")
		}
		if dom, name, ok := strings.Cut(d.ServiceUser, `\`); ok {
			if !netbiosRE.MatchString(dom) && !scriptHostName(dom, false) || !samRE.MatchString(name) {
				return bad("ServiceUser", "Enter the service account as DOMAIN\\user or user@domain.")
			}
		} else if name, dom, ok := strings.Cut(d.ServiceUser, "@"); !ok || !samRE.MatchString(name) || !scriptHostName(dom, false) {
			return bad("ServiceUser", "Enter the service account as DOMAIN\\user or user@domain.")
		}
	}
	return d, nil
}

// psQuote single-quotes s for PowerShell: a single quote (PowerShell also
// takes the typographic ones U+2018..U+201B for one) is doubled.
func psQuote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		b.WriteRune(r)
		switch r {
		case '\'', '\u2018', '\u2019', '\u201A', '\u201B':
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// psList is a PowerShell array of quoted strings: @('a', 'b').
func psList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = psQuote(s)
	}
	return "@(" + strings.Join(q, ", ") + ")"
}

// shortName is the computer name of a server: the first DNS label, upper case.
func shortName(host string) string {
	s, _, _ := strings.Cut(host, ".")
	return strings.ToUpper(s)
}

// Scripts writes the deployment, one script per server in the order to run
// them: a new farm has the primary server's (features, certificate, service
// account, Install-AdfsFarm, the relying party trust), then each further AD
// FS server's (Add-AdfsFarmNode), then each proxy's (Install-WebApplicationProxy);
// an existing farm has only the trust script for Servers[0].
func Scripts(d Deployment) ([]Script, error) {
	d, err := normalize(d)
	if err != nil {
		return nil, err
	}
	primary := d.Servers[0]
	if !d.NewFarm {
		s := &scriptWriter{}
		s.header(d, primary, "Re-creates the relying party trust for Microsoft Entra ID on the existing AD FS farm.", 1, 1,
			"Run it on the primary AD FS server of the farm, as an administrator of AD FS (a Domain Admin).")
		s.relyingPartyTrust(d)
		s.footer()
		return []Script{{Server: primary, Role: RoleTrust, FileName: "1-trust-" + primary + ".ps1", Text: s.text()}}, nil
	}
	total := len(d.Servers) + len(d.Proxies)
	var out []Script
	s := &scriptWriter{}
	s.header(d, primary, "Installs AD FS and creates the farm "+d.FederationServiceName+" on its primary server, then the relying party trust for Microsoft Entra ID.", 1, total,
		"Run it first, as a Domain Admin, on "+primary+". Copy "+d.CertFile+" next to this script.")
	s.feature("ADFS-Federation")
	s.certificate(d)
	s.serviceAccount(d, true)
	s.installFarm(d)
	s.relyingPartyTrust(d)
	s.footer()
	out = append(out, Script{Server: primary, Role: RolePrimary, FileName: "1-primary-" + primary + ".ps1", Text: s.text()})
	n := 1
	for _, node := range d.Servers[1:] {
		n++
		s := &scriptWriter{}
		s.header(d, node, "Installs AD FS on "+node+" and joins it to the farm "+d.FederationServiceName+" of "+primary+".", n, total,
			"Run it as a Domain Admin on "+node+", after the script of "+primary+" has finished. Copy "+d.CertFile+" next to this script.")
		s.feature("ADFS-Federation")
		s.certificate(d)
		s.serviceAccount(d, false)
		s.addNode(d, primary)
		s.footer()
		out = append(out, Script{Server: node, Role: RoleNode, FileName: fmt.Sprintf("%d-node-%s.ps1", n, node), Text: s.text()})
	}
	for _, proxy := range d.Proxies {
		n++
		s := &scriptWriter{}
		s.header(d, proxy, "Installs the Web Application Proxy on "+proxy+" and connects it to the federation service "+d.FederationServiceName+".", n, total,
			"Run it as a local administrator on "+proxy+", after the AD FS servers' scripts have finished. Copy "+d.CertFile+" next to this script.")
		s.feature("Web-Application-Proxy")
		s.certificate(d)
		s.installProxy(d, primary)
		s.footer()
		out = append(out, Script{Server: proxy, Role: RoleProxy, FileName: fmt.Sprintf("%d-proxy-%s.ps1", n, proxy), Text: s.text()})
	}
	return out, nil
}

// scriptWriter accumulates one script.
type scriptWriter struct{ b strings.Builder }

func (s *scriptWriter) line(format string, args ...any) {
	fmt.Fprintf(&s.b, format, args...)
	s.b.WriteString("\r\n")
}

func (s *scriptWriter) lines(text string) {
	for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		s.line("%s", l)
	}
}

// text is the script with CRLF line ends (Windows PowerShell reads either;
// Notepad and the ISE show CRLF best).
func (s *scriptWriter) text() string { return s.b.String() }

// header writes the comment block, #Requires, the error preference and the
// record of what was done. Only validated names reach the comments.
func (s *scriptWriter) header(d Deployment, server, what string, n, total int, how string) {
	s.line("# Generated by hybridsync: AD FS deployment for %s (Microsoft Entra domain %s).", d.FederationServiceName, d.Domain)
	s.line("# Server: %s", server)
	s.line("# What it does: %s", what)
	s.line("# Run order: script %d of %d. %s", n, total, how)
	s.line("# It asks for every password it needs; none is written in this file.")
	s.line("# It stops at the first error; once the cause is fixed it can be run again.")
	s.line("#Requires -RunAsAdministrator")
	s.line("")
	s.line("$ErrorActionPreference = 'Stop'")
	s.line("$done = @()")
	s.line("")
}

func (s *scriptWriter) footer() {
	s.line("Write-Host ''")
	s.line("Write-Host \"hybridsync: done on $env:COMPUTERNAME\"")
	s.line("foreach ($step in $done) { Write-Host \" - $step\" }")
}

func (s *scriptWriter) feature(name string) {
	s.line("# The Windows feature.")
	s.line("$feature = Install-WindowsFeature -Name %s -IncludeManagementTools", psQuote(name))
	s.line("$done += (%s + $feature.ExitCode)", psQuote("Windows feature "+name+": "))
	s.line("")
}

// certificate imports the PFX next to the script into the computer's store,
// unless it is there already, and checks the thumbprint.
func (s *scriptWriter) certificate(d Deployment) {
	s.line("# The TLS certificate of %s, from the PFX file next to this script.", d.FederationServiceName)
	s.line("$thumbprint = %s", psQuote(d.CertThumbprint))
	s.line("if (Test-Path -Path (Join-Path 'Cert:\\LocalMachine\\My' $thumbprint)) {")
	s.line("    $done += \"Certificate $thumbprint already in Cert:\\LocalMachine\\My\"")
	s.line("} else {")
	s.line("    $pfxFile = Join-Path $PSScriptRoot %s", psQuote(d.CertFile))
	s.line("    $pfxPassword = Read-Host -AsSecureString -Prompt %s", psQuote("Password of "+d.CertFile))
	s.line("    Import-PfxCertificate -FilePath $pfxFile -CertStoreLocation 'Cert:\\LocalMachine\\My' -Password $pfxPassword | Out-Null")
	s.line("    Remove-Variable -Name pfxPassword")
	s.line("    if (-not (Test-Path -Path (Join-Path 'Cert:\\LocalMachine\\My' $thumbprint))) {")
	s.line("        throw \"$pfxFile does not hold the certificate $thumbprint chosen in hybridsync.\"")
	s.line("    }")
	s.line("    $done += \"Imported certificate $thumbprint into Cert:\\LocalMachine\\My\"")
	s.line("}")
	s.line("")
}

// serviceAccount prepares the AD FS service account: for a gMSA on the
// primary, the optional KDS root key and the account itself; for a domain
// user, the credential (asked).
func (s *scriptWriter) serviceAccount(d Deployment, primary bool) {
	if d.ServiceUser != "" {
		s.line("# The AD FS service account (a domain user): its password is asked, never stored.")
		s.line("$serviceCredential = Get-Credential -UserName %s -Message %s", psQuote(d.ServiceUser), psQuote("Password of the AD FS service account "+d.ServiceUser))
		s.line("")
		return
	}
	if !primary {
		return
	}
	_, name, _ := strings.Cut(d.GMSA, `\`)
	name = strings.TrimSuffix(name, "$")
	var principals []string
	for _, srv := range d.Servers {
		principals = append(principals, shortName(srv)+"$")
	}
	s.line("# The group managed service account %s needs the Active Directory module.", d.GMSA)
	s.line("Install-WindowsFeature -Name 'RSAT-AD-PowerShell' | Out-Null")
	s.line("Import-Module ActiveDirectory")
	if d.CreateKDSRootKey {
		// Guess: Add-KdsRootKey/Get-KdsRootKey (module Kds) are available on
		// the AD FS server once RSAT-AD-PowerShell is installed; Microsoft
		// documents running them on a domain controller.
		s.lines(`# A KDS root key, once per forest. Adding one needs Enterprise Admin (or forest
# root Domain Admin) rights. Dating it 10 hours back makes it usable at once;
# in a forest with several domain controllers, wait for replication to carry
# it to all of them before gMSAs are used on other sites.`)
		s.line("if (@(Get-KdsRootKey).Count -eq 0) {")
		s.line("    $kdsKey = Add-KdsRootKey -EffectiveTime ((Get-Date).AddHours(-10))")
		s.line("    $done += \"Added the KDS root key $kdsKey\"")
		s.line("} else {")
		s.line("    $done += 'A KDS root key exists already'")
		s.line("}")
	}
	s.line("$gmsaName = %s", psQuote(name))
	s.line("$gmsa = $null")
	s.line("try { $gmsa = Get-ADServiceAccount -Identity $gmsaName } catch [Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException] { $gmsa = $null }")
	s.line("if ($null -eq $gmsa) {")
	s.line("    New-ADServiceAccount -Name $gmsaName -DNSHostName %s -ServicePrincipalNames %s -PrincipalsAllowedToRetrieveManagedPassword %s",
		psQuote(d.FederationServiceName), psQuote("http/"+d.FederationServiceName), psList(principals))
	s.line("    $done += %s", psQuote("Created the group managed service account "+d.GMSA))
	s.line("} else {")
	s.line("    Set-ADServiceAccount -Identity $gmsaName -PrincipalsAllowedToRetrieveManagedPassword %s", psList(principals))
	s.line("    $done += %s", psQuote("The group managed service account "+d.GMSA+" exists; allowed "+strings.Join(principals, ", ")+" to use it"))
	s.line("}")
	s.line("")
}

// accountArgs are the service account parameters of Install-AdfsFarm and
// Add-AdfsFarmNode.
func accountArgs(d Deployment) string {
	if d.GMSA != "" {
		return "-GroupServiceAccountIdentifier " + psQuote(d.GMSA)
	}
	return "-ServiceAccountCredential $serviceCredential"
}

func (s *scriptWriter) installFarm(d Deployment) {
	s.line("# The AD FS farm (Windows Internal Database). -OverwriteConfiguration replaces an earlier AD FS configuration of this server.")
	s.line("Import-Module ADFS")
	s.line("Install-AdfsFarm -CertificateThumbprint $thumbprint -FederationServiceName %s -FederationServiceDisplayName %s %s -OverwriteConfiguration",
		psQuote(d.FederationServiceName), psQuote(d.DisplayName), accountArgs(d))
	s.line("$done += %s", psQuote("Created the AD FS farm "+d.FederationServiceName))
	s.line("")
}

func (s *scriptWriter) addNode(d Deployment, primary string) {
	s.line("# Join the farm of the primary server.")
	s.line("Import-Module ADFS")
	s.line("Add-AdfsFarmNode -PrimaryComputerName %s -CertificateThumbprint $thumbprint %s", psQuote(primary), accountArgs(d))
	s.line("$done += %s", psQuote("Joined the AD FS farm of "+primary))
	s.line("")
}

func (s *scriptWriter) installProxy(d Deployment, primary string) {
	s.line("# This server must reach %s on port 443: if DNS here resolves it to the proxy itself, add the AD FS address to the hosts file first.", d.FederationServiceName)
	s.line("$trustCredential = Get-Credential -Message %s", psQuote("A local administrator of the AD FS server "+primary))
	s.line("Install-WebApplicationProxy -FederationServiceTrustCredential $trustCredential -CertificateThumbprint $thumbprint -FederationServiceName %s",
		psQuote(d.FederationServiceName))
	s.line("$done += %s", psQuote("Installed the Web Application Proxy for "+d.FederationServiceName))
	s.line("")
}

// relyingPartyTrust removes any trust for Entra (kept in a backup file, as
// Entra Connect does) and creates it from scratch.
func (s *scriptWriter) relyingPartyTrust(d Deployment) {
	s.line("# The relying party trust for Microsoft Entra ID, created from scratch. AD FS reads")
	s.line("# Entra's metadata from %s, so this server needs outbound HTTPS.", EntraMetadataURL)
	s.line("Import-Module ADFS")
	s.line("$rpName = %s", psQuote(RelyingPartyName))
	s.line("$rpIdentifier = %s", psQuote(RelyingPartyIdentifier))
	s.line("$existing = @(Get-AdfsRelyingPartyTrust | Where-Object { $_.Name -eq $rpName -or $_.Identifier -contains $rpIdentifier })")
	s.line("$backupDir = Join-Path $env:ProgramData 'hybridsync\\ADFS'")
	s.line("$i = 0")
	s.line("foreach ($trust in $existing) {")
	s.line("    $i++")
	s.line("    New-Item -ItemType Directory -Force -Path $backupDir | Out-Null")
	s.line("    $backup = Join-Path $backupDir ('AadTrust-{0}-{1}.txt' -f (Get-Date -Format 'yyyyMMdd-HHmmss'), $i)")
	s.line("    $trust | Format-List -Property * | Out-File -FilePath $backup -Width 4096")
	s.line("    Remove-AdfsRelyingPartyTrust -TargetName $trust.Name -Confirm:$false")
	s.line("    $done += \"Removed the relying party trust '$($trust.Name)' (saved in $backup)\"")
	s.line("}")
	s.line("")
	s.line("$issuanceTransformRules = @'")
	s.lines(claimRules(d))
	s.line("'@")
	s.line("")
	s.line("$issuanceAuthorizationRules = @'")
	s.line("@RuleTemplate = \"AllowAllAuthzRule\"")
	s.line(" => issue(Type = \"http://schemas.microsoft.com/authorization/claims/permit\", Value = \"true\");")
	s.line("'@")
	s.line("")
	s.line("Add-AdfsRelyingPartyTrust -Name $rpName -MetadataUrl %s -MonitoringEnabled $true -AutoUpdateEnabled $true -SignatureAlgorithm %s -IssuanceTransformRules $issuanceTransformRules -IssuanceAuthorizationRules $issuanceAuthorizationRules",
		psQuote(EntraMetadataURL), psQuote(sha256Signature))
	s.line("$created = Get-AdfsRelyingPartyTrust -Name $rpName")
	s.line("$done += (\"Created the relying party trust '$rpName' for \" + ($created.Identifier -join ', '))")
	s.line("$done += %s", psQuote("Entra must be given the issuer "+IssuerURI(d)))
	s.line("")
}

// Claim types of the rules.
const (
	claimWindowsAccount = "http://schemas.microsoft.com/ws/2008/06/identity/claims/windowsaccountname"
	claimUPN            = "http://schemas.xmlsoap.org/claims/UPN"
	claimImmutableID    = "http://schemas.microsoft.com/LiveID/Federation/2008/05/ImmutableID"
	claimAccountType    = "http://schemas.microsoft.com/ws/2012/01/accounttype"
	claimIssuerID       = "http://schemas.microsoft.com/ws/2008/06/identity/claims/issuerid"
	userFromAccount     = `regexreplace(c.Value, "(?<domain>[^\\]+)\\(?<user>.+)", "${user}")`
)

// claimRules are the issuance transform rules of the trust, as Entra Connect
// writes them (EDOCS how-to-connect-azure-ad-trust.md; a real trust's dump,
// learn Q&A 974181): UPN from UPNAttribute, ImmutableID from the source
// anchor (mS-DS-ConsistencyGuid with objectGUID as the fallback), the
// nameidentifier, the device rules, issuerid with MultipleDomains, and the
// pass-through rules.
func claimRules(d Deployment) string {
	var r []string
	r = append(r, `@RuleName = "Issue UPN"
c:[Type == "`+claimWindowsAccount+`"]
 => issue(store = "Active Directory", types = ("`+claimUPN+`"), query = "samAccountName={0};`+d.UPNAttribute+`;{1}", param = `+userFromAccount+`, param = c.Value);`)
	if d.SourceAnchor == AnchorConsistencyGuid {
		r = append(r, `@RuleName = "Query objectguid and msdsconsistencyguid for custom ImmutableId claim"
c:[Type == "`+claimWindowsAccount+`"]
 => add(store = "Active Directory", types = ("http://schemas.microsoft.com/ws/2016/02/identity/claims/objectguid", "http://schemas.microsoft.com/ws/2016/02/identity/claims/msdsconsistencyguid"), query = "samAccountName={0};objectGUID,mS-DS-ConsistencyGuid;{1}", param = `+userFromAccount+`, param = c.Value);`,
			`@RuleName = "Check for the existence of msdsconsistencyguid"
NOT EXISTS([Type == "http://schemas.microsoft.com/ws/2016/02/identity/claims/msdsconsistencyguid"])
 => add(Type = "urn:federation:tmp/idflag", Value = "useguid");`,
			`@RuleName = "Issue msdsconsistencyguid as Immutable ID if it exists"
c:[Type == "http://schemas.microsoft.com/ws/2016/02/identity/claims/msdsconsistencyguid"]
 => issue(Type = "`+claimImmutableID+`", Value = c.Value);`,
			`@RuleName = "Issue objectGuidRule if msdsConsistencyGuid rule does not exist"
c1:[Type == "urn:federation:tmp/idflag", Value =~ "useguid"]
 && c2:[Type == "http://schemas.microsoft.com/ws/2016/02/identity/claims/objectguid"]
 => issue(Type = "`+claimImmutableID+`", Value = c2.Value);`)
	} else {
		r = append(r, `@RuleName = "Issue Immutable ID"
c:[Type == "`+claimWindowsAccount+`"]
 => issue(store = "Active Directory", types = ("`+claimImmutableID+`"), query = "samAccountName={0};objectGUID;{1}", param = `+userFromAccount+`, param = c.Value);`)
	}
	r = append(r, `@RuleName = "Issue nameidentifier"
c:[Type == "`+claimImmutableID+`"]
 => issue(Type = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier", Value = c.Value, Properties["http://schemas.xmlsoap.org/ws/2005/05/identity/claimproperties/format"] = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified");`,
		`@RuleName = "Issue accounttype for domain-joined computers"
c:[Type == "http://schemas.microsoft.com/ws/2008/06/identity/claims/groupsid", Value =~ "-515$", Issuer =~ "^(AD AUTHORITY|SELF AUTHORITY|LOCAL AUTHORITY)$"]
 => issue(Type = "`+claimAccountType+`", Value = "DJ");`,
		`@RuleName = "Issue AccountType with the value USER when it is not a computer account"
NOT EXISTS([Type == "`+claimAccountType+`", Value == "DJ"])
 => add(Type = "`+claimAccountType+`", Value = "User");`)
	if d.MultipleDomains {
		dom := regexp.QuoteMeta(d.Domain)
		r = append(r, `@RuleName = "Issue issuerid when it is not a computer account"
c1:[Type == "`+claimUPN+`"] && c2:[Type == "`+claimAccountType+`", Value == "User"]
 => issue(Type = "`+claimIssuerID+`", Value = regexreplace(c1.Value, "(?i)(^([^@]+)@)(?<domain>(`+dom+`))$", "http://${domain}/adfs/services/trust/"));`,
			`@RuleName = "Issue issuerid for DJ computer auth"
c1:[Type == "`+claimAccountType+`", Value == "DJ"]
 => issue(Type = "`+claimIssuerID+`", Value = "`+IssuerURI(d)+`");`)
	}
	r = append(r, `@RuleName = "Issue onpremobjectguid for domain-joined computers"
c1:[Type == "http://schemas.microsoft.com/ws/2008/06/identity/claims/groupsid", Value =~ "-515$", Issuer =~ "^(AD AUTHORITY|SELF AUTHORITY|LOCAL AUTHORITY)$"]
 && c2:[Type == "`+claimWindowsAccount+`", Issuer =~ "^(AD AUTHORITY|SELF AUTHORITY|LOCAL AUTHORITY)$"]
 => issue(store = "Active Directory", types = ("http://schemas.microsoft.com/identity/claims/onpremobjectguid"), query = ";objectguid;{0}", param = c2.Value);`,
		`@RuleName = "Pass through primary SID"
c1:[Type == "http://schemas.microsoft.com/ws/2008/06/identity/claims/groupsid", Value =~ "-515$", Issuer =~ "^(AD AUTHORITY|SELF AUTHORITY|LOCAL AUTHORITY)$"]
 && c2:[Type == "http://schemas.microsoft.com/ws/2008/06/identity/claims/primarysid", Issuer =~ "^(AD AUTHORITY|SELF AUTHORITY|LOCAL AUTHORITY)$"]
 => issue(claim = c2);`,
		`@RuleName = "Pass through claim - insideCorporateNetwork"
c:[Type == "http://schemas.microsoft.com/ws/2012/01/insidecorporatenetwork"]
 => issue(claim = c);`,
		`@RuleName = "Pass Through Claim - Psso"
c:[Type == "http://schemas.microsoft.com/2014/03/psso"]
 => issue(claim = c);`,
		`@RuleName = "Issue Password Expiry Claims"
c1:[Type == "http://schemas.microsoft.com/ws/2012/01/passwordexpirationtime"]
 => issue(store = "_PasswordExpiryStore", types = ("http://schemas.microsoft.com/ws/2012/01/passwordexpirationtime", "http://schemas.microsoft.com/ws/2012/01/passwordexpirationdays", "http://schemas.microsoft.com/ws/2012/01/passwordchangeurl"), query = "{0};", param = c1.Value);`,
		`@RuleName = "Pass through claim - authnmethodsreferences"
c:[Type == "http://schemas.microsoft.com/claims/authnmethodsreferences"]
 => issue(claim = c);`,
		`@RuleName = "Pass through claim - multifactorauthenticationinstant"
c:[Type == "http://schemas.microsoft.com/ws/2017/04/identity/claims/multifactorauthenticationinstant"]
 => issue(claim = c);`)
	return strings.Join(r, "\n\n")
}

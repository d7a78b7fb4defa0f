package setup

// What hybridsync does for the options whose effect it can't have, or has
// only in part. Most are options whose cloud half Microsoft exposes through
// no public API; group and device writeback are built in a later release.
// The pages show each at its option, Ready to configure lists the chosen
// ones, and Configure names them in its result.

// Limitation is a chosen option whose effect hybridsync can't have, or has only in part.
type Limitation struct {
	ID      string // stable key: "phs", "pta", "sso", "password-writeback", "exchange-hybrid", "group-writeback", "device-writeback"
	Feature string // the option's name as the wizard shows it, e.g. "Password hash synchronization"
	Does    string // what hybridsync does for it (one or two sentences)
	Cannot  string // what it cannot do and why (one or two sentences)
	Action  string // what the admin can do about it
}

// Limitation ids.
const (
	LimitPHS               = "phs"
	LimitPTA               = "pta"
	LimitSSO               = "sso"
	LimitPasswordWriteback = "password-writeback"
	LimitExchangeHybrid    = "exchange-hybrid"
	LimitPublicFolders     = "exchange-public-folders"
	LimitGroupWriteback    = "group-writeback"
	LimitDeviceWriteback   = "device-writeback"
)

// cloudPassword is what a synchronized user can do while the cloud has no
// copy of the on-premises password.
const cloudPassword = "Let synchronized users set their cloud password with self-service password reset, or reset it for them in Microsoft Entra ID."

// limitations are every limitation, in the order the wizard shows the options.
var limitations = []Limitation{
	{
		ID:      LimitPHS,
		Feature: "Password hash synchronization",
		Does: "The AD DS connector account Configure creates gets “Replicating Directory Changes” and “Replicating Directory Changes All” " +
			"(an existing account is checked for them), and Configure switches password hash synchronization on in the tenant's directory " +
			"synchronization features, which Microsoft Graph lets only a Global Administrator change.",
		Cannot: "hybridsync can't upload password hashes: Microsoft offers no public API that accepts one (Microsoft Graph's passwordProfile " +
			"takes only a clear-text password; Microsoft Entra Connect uses a private provisioning service). So synchronized users get a random " +
			"cloud password and can't sign in to the cloud with their on-premises password.",
		Action: cloudPassword,
	},
	{
		ID:      LimitPTA,
		Feature: "Pass-through authentication",
		Does: "hybridsync checks that your tenant has at least one verified domain (on Microsoft Entra sign-in configuration). " +
			"It installs no agent and changes nothing in the tenant for it.",
		Cannot: "hybridsync can't act as a pass-through authentication agent: agents register, and receive sign-in requests, through Microsoft's " +
			"private bootstrap service and an Azure Service Bus channel, and there is no public API for either. So users of managed domains " +
			"sign in with their cloud password, not their on-premises one.",
		Action: cloudPassword,
	},
	{
		ID:      LimitSSO,
		Feature: "Enable single sign-on",
		Does: "Configure creates the computer account AZUREADSSOACC, with the service principal name HTTP/autologon.microsoftazuread-sso.com, " +
			"in the root domain of each forest you don't skip on Single sign-on, with the domain administrator credentials you enter there.",
		Cannot: "hybridsync can't share that account's Kerberos decryption key with Microsoft Entra ID: only Microsoft Entra Connect's private " +
			"API does that. Without the key Microsoft Entra ID can't read the Kerberos tickets, so seamless single sign-on signs no one in.",
		Action: "Users sign in by typing their password, as without single sign-on. If you won't use seamless single sign-on, clear " +
			"Enable single sign-on on User sign-in; a computer account AZUREADSSOACC that Configure created can be deleted from Active Directory.",
	},
	{
		ID:      LimitPasswordWriteback,
		Feature: "Password writeback",
		Does: "The AD DS connector account Configure creates gets Reset Password and Change Password on users and may write their lockoutTime " +
			"and pwdLastSet (an existing account is checked for them). It leaves the tenant's passwordWritebackEnabled alone: Microsoft Graph " +
			"documents that setting as not in use, and updating it as not supported.",
		Cannot: "hybridsync can't receive password changes made in the cloud: Microsoft Entra ID sends them over a tenant-specific Azure Service " +
			"Bus relay that only Microsoft's agent can use, and there is no public API. No password change or reset made in the cloud reaches " +
			"Active Directory.",
		Action: "Change and reset on-premises passwords on-premises: a change or reset in Microsoft Entra ID changes only the cloud password.",
	},
	{
		ID:      LimitExchangeHybrid,
		Feature: "Exchange hybrid deployment",
		Does:    "hybridsync records your choice. It gives the AD DS connector account no write access for it and writes nothing back to Active Directory.",
		Cannot: "The attributes Microsoft Entra Connect writes back for it (msExchArchiveStatus, msExchSafeSendersHash, msExchBlockedSendersHash, " +
			"msExchSafeRecipientsHash, msExchUserHoldPolicies, msExchUCVoiceMailSettings, the cloud mailbox's X500 address in proxyAddresses, " +
			"publicDelegates) can't be read through Microsoft Graph, so hybridsync has nothing to write back.",
		Action: "Where your on-premises Exchange needs them (online archives, holds, safe and blocked senders, voicemail, delegates), " +
			"set them on-premises with Exchange's own tools.",
	},
	{
		ID:      LimitPublicFolders,
		Feature: "Exchange mail public folders",
		Does:    "hybridsync records your choice. It reads no mail-enabled public folder from Active Directory.",
		Cannot:  "Microsoft Graph has no object for a mail-enabled public folder, so hybridsync can't create one in Microsoft Entra ID.",
		Action: "Clear this option. Exchange Online can't learn your on-premises public folders' addresses from hybridsync: for mail to " +
			"reach them through Exchange Online, make their domain an internal relay domain there.",
	},
	{
		ID:      LimitGroupWriteback,
		Feature: "Group writeback",
		Does: "Configure switches group writeback on in the tenant's directory synchronization features and prepares the chosen " +
			"organizational unit (or gives the commands). Each cycle writes every Microsoft 365 group into it as a universal distribution group (cn, displayName, " +
			"description, adminDescription Group_<objectId>, msDS-ExternalDirectoryObjectId where the schema has it) with the members " +
			"that are users synchronized from that forest or written-back groups, one membership change at a time, and deletes it when it is deleted in the tenant.",
		Cannot: "Written-back groups carry no mail attributes (mail, proxyAddresses, mailNickname, msExchRecipientTypeDetails…): hybridsync " +
			"does not make them Exchange recipients, so on-premises Exchange can't deliver to them. Cloud-only members and members " +
			"from other forests are left out (the run history says so), and only Microsoft 365 groups are written back, not security groups.",
		Action: "Mail-enable the groups on-premises yourself if on-premises mailboxes must send to them; otherwise address the groups " +
			"by their cloud address, which Exchange Online delivers.",
	},
	{
		ID:      LimitDeviceWriteback,
		Feature: "Device writeback",
		Does: "Configure switches device writeback on in the tenant's directory synchronization features and prepares the forest (or gives the commands). " +
			"Each cycle writes every registered or joined device whose registered owner is a user synchronized from the chosen forest " +
			"into CN=RegisteredDevices as an msDS-Device (device id, display name, enabled, OS type and version, alternative " +
			"security ids, owner's SID, cloud anchor, physical ids, managed) and removes it when it is deleted in the tenant.",
		Cannot: "msDS-KeyCredentialLink (Windows Hello for Business keys) and msDS-DeviceTrustType are not written, and msDS-IsCompliant " +
			"only where the schema is Windows Server 2016 or later. Some values' formats are assumed, not confirmed against a device " +
			"Microsoft Entra Connect wrote: the object's name, the msDS-CloudAnchor value and the msDS-DeviceID byte order (see ARCHITECTURE.md).",
		Action: "Test on-premises conditional access or certificate trust with one written-back device before relying on it; " +
			"Windows Hello for Business key trust needs Microsoft Entra Connect or Cloud Sync.",
	},
}

// chosen says, for each limitation, whether the answers choose its option.
var chosen = map[string]func(a *Answers) bool{
	LimitPHS:               func(a *Answers) bool { return a.SignIn.Method == MethodPHS || a.Features.PasswordHashSync },
	LimitPTA:               func(a *Answers) bool { return a.SignIn.Method == MethodPTA },
	LimitSSO:               func(a *Answers) bool { return a.SignIn.SSOApplies() },
	LimitPasswordWriteback: func(a *Answers) bool { return a.Features.PasswordWriteback },
	LimitExchangeHybrid:    func(a *Answers) bool { return a.Features.ExchangeHybrid },
	LimitPublicFolders:     func(a *Answers) bool { return a.Features.ExchangePublicFolders },
	LimitGroupWriteback:    func(a *Answers) bool { return a.Features.GroupWriteback },
	LimitDeviceWriteback:   func(a *Answers) bool { return a.Features.DeviceWriteback },
}

// Limitations are the limitations of the options chosen in a (none chosen: none).
func Limitations(a *Answers) []Limitation {
	var out []Limitation
	for _, l := range limitations {
		if chosen[l.ID](a) {
			out = append(out, l)
		}
	}
	return out
}

// LimitationOf returns the limitation of one option by ID whether or not it is chosen (for the pages).
func LimitationOf(id string) (Limitation, bool) {
	for _, l := range limitations {
		if l.ID == id {
			return l, true
		}
	}
	return Limitation{}, false
}

// methodLimits and featureLimits name the limitation of a sign-in method and
// of an optional feature (by its form field).
var (
	methodLimits  = map[string]string{MethodPHS: LimitPHS, MethodPTA: LimitPTA}
	featureLimits = map[string]string{
		"password_hash_sync":      LimitPHS,
		"password_writeback":      LimitPasswordWriteback,
		"exchange_hybrid":         LimitExchangeHybrid,
		"exchange_public_folders": LimitPublicFolders,
		"group_writeback":         LimitGroupWriteback,
		"device_writeback":        LimitDeviceWriteback,
	}
)

// MethodLimit is the limitation id of a sign-in method ("" when it has none).
func MethodLimit(method string) string { return methodLimits[method] }

// FeatureLimit is the limitation id of an optional feature by its form field
// ("" when it has none).
func FeatureLimit(field string) string { return featureLimits[field] }

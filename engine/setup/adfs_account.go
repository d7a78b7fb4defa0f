package setup

import (
	"context"
	"strings"
	"time"
)

// The AD FS service account page: a group managed service account (the
// forest's KDS root key looked up) or a domain user account (its password
// checked by a bind, never kept). The duplicate-SPN check of the federation
// service name blocks the page until the SPN is removed.

// Actions of the page.
const (
	ActionADFSCheckUser = "adfs_check_user"
	ActionADFSReadKDS   = "adfs_read_kds"
)

// Messages of the page.
const (
	MsgADFSAccountGMSA = "Group managed service account: a single account in which you don't need to update the password regularly. " +
		"Use this option if you already have Windows Server 2012 domain controllers in the domain that your AD FS servers belong to."
	MsgADFSAccountUser = "Domain user account: this type of account requires you to provide a password and regularly update it when it expires. " +
		"Use this option only when you don't have Windows Server 2012 domain controllers in the domain that your AD FS servers belong to."
	MsgADFSNeedType  = "Choose a group managed service account or a domain user account."
	MsgADFSNeedGMSA  = "Enter the name of the group managed service account, for example CONTOSO\\adfs-gmsa$."
	MsgADFSNeedUser  = "Enter the domain user account, for example CONTOSO\\svc-adfs."
	MsgADFSCheckUser = "Enter the account's password and select Check: hybridsync signs in with it once to check it, and never keeps it."
	MsgADFSNoKDS     = "This forest has no KDS root key, so no group managed service account can be created yet. Creating the KDS root key needs an " +
		"Enterprise Admin and a Windows Server 2012 or later domain controller; hybridsync can't create it over LDAP. Either select \"Create the KDS root key\" " +
		"below — the primary AD FS server's script then runs Add-KdsRootKey -EffectiveTime ((Get-Date).AddHours(-10)), so run that script as an Enterprise Admin — " +
		"or run that command yourself on a domain controller, then select Read the KDS root key again. Or use a domain user account."
	MsgADFSNoKDSSchema = "This forest's schema has no KDS root key class (msKds-ProvRootKey): its domain controllers can't issue group managed service account passwords. Use a domain user account."
	MsgADFSReadKDS     = "Select Read the KDS root key: hybridsync looks for the forest's KDS root key before it offers a group managed service account."
)

var adfsAccountPage = Page{
	ID:        PageADFSAccount,
	Title:     "AD FS service account",
	Section:   "Federation with AD FS",
	ShownWhen: usesNewFarm,
	Bind: func(a *Answers, f Form) {
		fd := &a.Federation
		if v := f.str("adfs_account"); v == FedAccountGMSA || v == FedAccountUser {
			fd.AccountType = v
		}
		if f.Values.Has("adfs_gmsa") {
			fd.GMSA = f.str("adfs_gmsa")
			fd.CreateKDSKey = f.on("adfs_create_kds")
		}
		if f.Values.Has("adfs_user") {
			if u := f.str("adfs_user"); u != fd.ServiceUser {
				fd.ServiceUser, fd.UserCheckedAt, fd.UserCheckedAs = u, "", ""
			}
		}
	},
	Validate: func(ctx context.Context, a *Answers, chk Checker) Errors {
		e := Errors{}
		fd := a.Federation
		switch fd.AccountType {
		case FedAccountGMSA:
			if fd.GMSA == "" {
				e.Add("adfs_gmsa", MsgADFSNeedGMSA)
			} else if msg := checkADUser(strings.TrimSuffix(fd.GMSA, "$")); msg != "" {
				e.Add("adfs_gmsa", msg)
			}
			switch {
			case fd.KDS == nil:
				e.Add("adfs_kds", MsgADFSReadKDS)
			case !fd.KDS.SchemaHasKDS:
				e.Add("adfs_kds", MsgADFSNoKDSSchema)
			case fd.KDS.Keys == 0 && !fd.CreateKDSKey:
				e.Add("adfs_kds", MsgADFSNoKDS)
			}
		case FedAccountUser:
			switch {
			case fd.ServiceUser == "":
				e.Add("adfs_user", MsgADFSNeedUser)
			case fd.UserCheckedAs != fd.ServiceUser:
				e.Add("adfs_user", MsgADFSCheckUser)
			}
		default:
			e.Add("adfs_account", MsgADFSNeedType)
		}
		if len(e) > 0 {
			return e
		}
		// The duplicate-SPN check, live: it blocks until the SPN is removed.
		fc, ok := chk.(fedChecker)
		if !ok || a.Federation.ServiceName == "" {
			return e
		}
		owners, err := fc.SPNOwners(ctx, a, a.Federation.ServiceName)
		if err != nil {
			e.Add("adfs_spn", CheckMessage(err))
			return e
		}
		own := ""
		if fd.AccountType == FedAccountUser {
			own, _ = fc.FindAccount(ctx, a, fd.ServiceUser)
		} else {
			own, _ = fc.FindAccount(ctx, a, fd.GMSA)
		}
		var others []string
		for _, o := range owners {
			if !strings.EqualFold(o, own) {
				others = append(others, o)
			}
		}
		if len(others) > 0 {
			e.Add("adfs_spn", DuplicateSPNText(a.Federation.ServiceName, others))
		}
		return e
	},
	Act: actADFSAccount,
}

// DuplicateSPNText is the duplicate-SPN block, naming who holds the SPN.
func DuplicateSPNText(fsName string, owners []string) string {
	return "The federation service name " + fsName + " is already registered as a service principal name (SPN) (HOST/" + fsName + " or HTTP/" + fsName + ") on " +
		strings.Join(owners, "; ") + ". AD DS doesn't allow duplicate SPNs to be registered at the same time, so you can't proceed further until the SPN is removed: " +
		"run setspn -D HOST/" + fsName + " <account> (and the same for HTTP/" + fsName + ") on a domain-joined computer, then select Next again."
}

func actADFSAccount(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
	e := Errors{}
	fd := &a.Federation
	fc, ok := chk.(fedChecker)
	switch action {
	case ActionADFSReadKDS:
		fd.AccountType = FedAccountGMSA
		if !ok {
			return e
		}
		k, err := fc.ReadKDS(ctx, a)
		if err != nil {
			e.Add("adfs_kds", CheckMessage(err))
			return e
		}
		fd.KDS = k
	case ActionADFSCheckUser:
		fd.AccountType = FedAccountUser
		if fd.ServiceUser == "" {
			e.Add("adfs_user", MsgADFSNeedUser)
			return e
		}
		if msg := checkADUser(fd.ServiceUser); msg != "" {
			e.Add("adfs_user", msg)
			return e
		}
		pw := f.raw("adfs_user_password")
		if pw == "" {
			e.Add("adfs_user_password", "Enter the password.")
			return e
		}
		if !ok {
			return e
		}
		if err := fc.CheckServiceUser(ctx, a, fd.ServiceUser, pw); err != nil {
			e.Add("adfs_user", CheckMessage(err))
			return e
		}
		fd.UserCheckedAs, fd.UserCheckedAt = fd.ServiceUser, time.Now().UTC().Format(time.RFC3339)
	default:
		return Errors{"": "This page has no such button. Reload the page and try again."}
	}
	return e
}

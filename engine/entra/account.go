package entra

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/hybridsync/hybridsync/engine/cloud"
)

// SyncAccount is the tenant's sync service account: the account hybridsync
// exports with after the installation, in the Directory Synchronization
// Accounts role. Its password is handed to the caller to seal; it is never
// logged.
type SyncAccount struct {
	UPN      string
	ID       string
	Password string
}

// SyncAccountDisplayName is the display name Entra Connect gives its account.
const SyncAccountDisplayName = "On-Premises Directory Synchronization Service Account"

// SyncAccountName is Sync_<host>_<12 hex digits>, as Entra Connect names it,
// with the host reduced to letters, digits and hyphens.
func SyncAccountName(host string) string {
	var b strings.Builder
	for _, r := range host {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-') {
			b.WriteRune(r)
		}
		if b.Len() == 20 {
			break
		}
	}
	h := b.String()
	if h == "" {
		h = "hybridsync"
	}
	return "Sync_" + h + "_" + randomHex(6)
}

// newPassword is a long random password with all four character classes,
// so every password policy of the tenant accepts it.
func newPassword() string {
	return "Hs" + randomHex(24) + "!Q7"
}

// CreateSyncAccount creates the sync service account in the tenant's initial
// domain and assigns it the Directory Synchronization Accounts role. If the
// role can't be assigned, the account is deleted again.
func CreateSyncAccount(ctx context.Context, g *cloud.Client, t Tenant, host string) (SyncAccount, error) {
	if t.InitialDomain == "" {
		return SyncAccount{}, &Error{Msg: "The tenant's initial onmicrosoft.com domain is not known, so hybridsync can't name the sync service account. Sign in to Microsoft Entra ID again."}
	}
	name := SyncAccountName(host)
	acct := SyncAccount{UPN: name + "@" + t.InitialDomain, Password: newPassword()}
	u, err := g.CreateUser(ctx, cloud.User{
		AccountEnabled:    cloud.Bool(true),
		DisplayName:       SyncAccountDisplayName,
		MailNickname:      name,
		UserPrincipalName: acct.UPN,
		PasswordProfile:   &cloud.PasswordProfile{Password: acct.Password},
	})
	if err != nil {
		return SyncAccount{}, graphError(err, "", "create the sync service account "+acct.UPN)
	}
	acct.ID = u.ID
	if _, err := g.AssignDirectoryRole(ctx, u.ID, RoleDirectorySynchronization); err != nil {
		werr := graphError(err, "", "give "+acct.UPN+" the Directory Synchronization Accounts role")
		if derr := g.DeleteUser(ctx, u.ID); derr != nil {
			return SyncAccount{}, &Error{Msg: Message(werr) + " hybridsync could not delete the account it had just created either: delete " + acct.UPN + " in the Microsoft Entra admin center.", Err: err}
		}
		return SyncAccount{}, werr
	}
	return acct, nil
}

// SyncTokens is the sync service account's token source (the password grant).
func (c Config) SyncTokens(upn, password string) cloud.TokenSource {
	return &cloud.PasswordGrant{Authority: c.Authority, ClientID: c.ClientID, Username: upn, Password: password, HTTPClient: c.httpClient()}
}

// CheckSyncAccount signs in as the sync service account and checks that it
// still exists and holds the Directory Synchronization Accounts role.
func (c Config) CheckSyncAccount(ctx context.Context, upn, password string) error {
	ts := c.SyncTokens(upn, password)
	if _, err := ts.Token(ctx); err != nil {
		return signInError(err, c.Authority, upn)
	}
	g, err := c.Graph(ts)
	if err != nil {
		return err
	}
	roles, err := g.MyDirectoryRoles(ctx)
	if err != nil {
		return graphError(err, c.GraphURL, "read the directory roles of "+upn)
	}
	for _, r := range roles {
		if strings.EqualFold(r.RoleTemplateID, RoleDirectorySynchronization) {
			return nil
		}
	}
	return &Error{Msg: upn + " is no longer in the Directory Synchronization Accounts role. Sign in on Connect to Microsoft Entra ID so that Configure creates a new sync service account."}
}

// Features are the directory synchronization features the wizard chose.
// Password writeback has no switch among them: Graph documents
// passwordWritebackEnabled as "isn't in use and updating it isn't
// supported", so it is never sent.
type Features struct {
	PasswordHashSync    bool
	DeviceWriteback     bool
	GroupWriteback      bool
	DirectoryExtensions bool
	// DeletionThreshold is the accidental-deletion prevention threshold (a
	// count of deletes per export); 0 turns the prevention off.
	DeletionThreshold int
}

// FeaturesRefused is Graph refusing the directory synchronization features:
// only a Global Administrator may change them. Directory synchronization
// itself is on by then; hybridsync's own deletion guard and features work
// regardless, so the caller reports it as a warning.
type FeaturesRefused struct{ Msg string }

func (e *FeaturesRefused) Error() string { return e.Msg }

// MsgFeaturesRefused explains FeaturesRefused.
const MsgFeaturesRefused = "Microsoft Graph lets only a Global Administrator change the tenant's directory synchronization features (password hash sync, writeback, accidental-deletion prevention), and the account is not one. " +
	"They are left as they were. To set them, sign in as a Global Administrator on Connect to Microsoft Entra ID and select Configure again."

// DefaultDeletionThreshold is Entra Connect's default: an export that would
// delete more than 500 objects is stopped.
const DefaultDeletionThreshold = 500

// ApplyFeatures switches directory synchronization on for the organization
// and sets the features and the accidental-deletion prevention. It returns
// what it changed, worded for the job's log.
func ApplyFeatures(ctx context.Context, g *cloud.Client, f Features) ([]string, error) {
	var done []string
	org, err := g.Organization(ctx)
	if err != nil {
		return nil, graphError(err, "", "read the organization")
	}
	if org.OnPremisesSyncEnabled == nil || !*org.OnPremisesSyncEnabled {
		if err := g.SetOnPremisesSyncEnabled(ctx, org.ID, true); err != nil {
			return nil, graphError(err, "", "switch on directory synchronization for "+org.DisplayName)
		}
		done = append(done, "Directory synchronization is now on for "+org.DisplayName)
	} else {
		done = append(done, "Directory synchronization was already on for "+org.DisplayName)
	}
	sync, err := g.OnPremisesSync(ctx)
	if err != nil {
		if cloud.IsForbidden(err) {
			// Reading them is Global Administrator only, as is setting them.
			return done, &FeaturesRefused{Msg: MsgFeaturesRefused}
		}
		return done, graphError(err, "", "read the directory synchronization settings")
	}
	features := map[string]any{
		"passwordSyncEnabled":        f.PasswordHashSync,
		"deviceWritebackEnabled":     f.DeviceWriteback,
		"groupWriteBackEnabled":      f.GroupWriteback,
		"directoryExtensionsEnabled": f.DirectoryExtensions,
	}
	prevention := map[string]any{"synchronizationPreventionType": "disabled", "alertThreshold": 0}
	if f.DeletionThreshold > 0 {
		prevention = map[string]any{"synchronizationPreventionType": "enabledForCount", "alertThreshold": f.DeletionThreshold}
	}
	patch := map[string]any{"features": features, "configuration": map[string]any{"accidentalDeletionPrevention": prevention}}
	if err := g.UpdateOnPremisesSync(ctx, sync.ID, patch); err != nil {
		if cloud.IsForbidden(err) {
			return done, &FeaturesRefused{Msg: MsgFeaturesRefused}
		}
		return done, graphError(err, "", "set the directory synchronization features")
	}
	done = append(done, fmt.Sprintf("Features: password hash sync %s, device writeback %s, group writeback %s, directory extensions %s",
		OnOff(f.PasswordHashSync), OnOff(f.DeviceWriteback), OnOff(f.GroupWriteback), OnOff(f.DirectoryExtensions)))
	if f.DeletionThreshold > 0 {
		done = append(done, fmt.Sprintf("Accidental-deletion prevention: an export that deletes more than %d objects is stopped", f.DeletionThreshold))
	} else {
		done = append(done, "Accidental-deletion prevention is off")
	}
	return done, nil
}

// OnOff words a feature's state.
func OnOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// Blocked words a matching setting (soft match, hard match takeover).
func Blocked(b bool) string {
	if b {
		return "blocked"
	}
	return "allowed"
}

// SyncFeatures are the tenant's directory synchronization features as
// Configure last read them: what the Overview shows, and the matching
// settings every export applies (read once per configuration: Graph lets
// only a Global Administrator read them, never the sync service account).
type SyncFeatures struct {
	// ReadAt is when they were read (RFC 3339, UTC), or tried.
	ReadAt string `json:"readAt"`
	// Unread says why they could not be read ("" when they were).
	Unread string `json:"unread,omitempty"`

	PasswordHashSync    bool `json:"passwordHashSync"`
	DeviceWriteback     bool `json:"deviceWriteback"`
	GroupWriteback      bool `json:"groupWriteback"`
	DirectoryExtensions bool `json:"directoryExtensions"`
	BlockSoftMatch      bool `json:"blockSoftMatch"`
	BlockHardMatch      bool `json:"blockHardMatch"`
	// DeletionPrevention is the accidental-deletion prevention type
	// (disabled, enabledForCount, enabledForPercentage) and its threshold.
	DeletionPrevention string `json:"deletionPrevention,omitempty"`
	DeletionThreshold  int    `json:"deletionThreshold,omitempty"`
}

// MsgFeaturesUnread explains why the features could not be read.
const MsgFeaturesUnread = "Microsoft Graph lets only a Global Administrator read the tenant's directory synchronization features, and the account is not one."

// ReadSyncFeatures reads the tenant's directory synchronization features.
// A refusal is no error: the result says why they are unread.
func ReadSyncFeatures(ctx context.Context, g *cloud.Client) (SyncFeatures, error) {
	f := SyncFeatures{ReadAt: time.Now().UTC().Format(time.RFC3339)}
	s, err := g.OnPremisesSync(ctx)
	switch {
	case cloud.IsForbidden(err):
		f.Unread = MsgFeaturesUnread
		return f, nil
	case err != nil:
		return f, graphError(err, "", "read the directory synchronization features")
	}
	f.PasswordHashSync, f.DeviceWriteback, f.GroupWriteback = s.Features.PasswordSyncEnabled, s.Features.DeviceWritebackEnabled, s.Features.GroupWriteBackEnabled
	f.DirectoryExtensions = s.Features.DirectoryExtensionsEnabled
	f.BlockSoftMatch, f.BlockHardMatch = s.Features.BlockSoftMatchEnabled, s.Features.BlockCloudObjectTakeoverThroughHardMatchEnabled
	f.DeletionPrevention = s.Configuration.AccidentalDeletionPrevention.SynchronizationPreventionType
	f.DeletionThreshold = s.Configuration.AccidentalDeletionPrevention.AlertThreshold
	return f, nil
}

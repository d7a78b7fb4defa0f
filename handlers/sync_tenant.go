package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/views/helpdesk"
)

// The lookup's live read of the tenant (GET /sync/lookup): the hits'
// objects as Microsoft Graph holds them now, beside what hybridsync
// computed, or, when nothing on-premises matches, the tenant's users with
// the name searched for. It reads as the recorded sync service account,
// as the export writes; a tenant it can't read leaves a note on the page
// and the rest of the page as it is.

const (
	// tenantTimeout bounds the sign-in and the Graph calls of one lookup.
	tenantTimeout = 10 * time.Second
	// tenantReads is how many of a lookup's objects are read from the
	// tenant: one $batch of Graph's 20 requests at most.
	tenantReads = cloud.MaxBatch
)

// tenantProps are the properties the lookup reads, per kind, in the order
// shown. onPremisesLastSyncDateTime is shown only when the tenant has one.
var tenantProps = map[string][]string{
	metaverse.KindUser:    {"userPrincipalName", "displayName", "mail", "onPremisesImmutableId", "accountEnabled", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime"},
	metaverse.KindGroup:   {"displayName", "mail", "mailNickname", "securityEnabled", "mailEnabled", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime"},
	metaverse.KindContact: {"displayName", "mail", "mailNickname", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime"},
	metaverse.KindDevice:  {"displayName", "deviceId", "accountEnabled", "operatingSystem", "operatingSystemVersion", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime"},
}

// tenantCollections are the Graph collections of the kinds.
var tenantCollections = map[string]string{
	metaverse.KindUser: "users", metaverse.KindGroup: "groups", metaverse.KindContact: "contacts", metaverse.KindDevice: "devices",
}

// foldedProps are compared case-insensitively: the directory matches them so.
var foldedProps = map[string]bool{"userPrincipalName": true, "mail": true, "mailNickname": true}

// tenantTarget is a hit the tenant is read for.
type tenantTarget struct {
	Kind, CloudID string
	// Computed is what hybridsync computed for the object (the metaverse's
	// cloud attributes).
	Computed map[string][]string
}

// noTenant is a reason the tenant can't be read, worded for the page.
type noTenant struct{ msg string }

func (e *noTenant) Error() string { return e.msg }

// tenantClient signs in to Graph as the sync service account the active
// configuration recorded.
func (h *Handler) tenantClient(ctx context.Context) (*cloud.Client, string, error) {
	cfg, err := h.st.ActiveConfiguration(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", &noTenant{"no configuration has been applied yet, so there is no sync service account to read it as."}
	}
	if err != nil {
		return nil, "", fmt.Errorf("unable to read the active configuration: %w", err)
	}
	a, err := setup.ConfigurationAnswers(cfg)
	if err != nil {
		return nil, "", err
	}
	ce := a.ConnectEntra
	if ce.SyncAccount == "" {
		return nil, "", &noTenant{"the configuration records no sync service account to read it as: select Configure in the wizard first."}
	}
	pw, err := h.box.OpenFor(secret.PurposeSyncPassword, ce.SyncPassword)
	if err != nil {
		return nil, "", &noTenant{fmt.Sprintf("the saved password of %s can't be read (was the secret key replaced?).", ce.SyncAccount)}
	}
	ec, ok := h.wiz.Checker.(interface{ EntraConfig() entra.Config })
	if !ok {
		return nil, "", &noTenant{"this console has no Microsoft Entra sign-in configured."}
	}
	ecfg := ec.EntraConfig()
	if err := ecfg.Check(); err != nil {
		return nil, "", &noTenant{entra.Message(err)}
	}
	// One client (and so one token, renewed as it expires) per configuration,
	// account and Graph endpoint, instead of a sign-in per lookup.
	key := fmt.Sprintf("%d\x00%s\x00%s\x00%s", cfg.ID, ce.SyncAccount, ce.SyncPassword, ecfg.GraphURL)
	h.tenant.Lock()
	defer h.tenant.Unlock()
	if h.tenant.g != nil && h.tenant.key == key {
		return h.tenant.g, ce.SyncAccount, nil
	}
	g, err := ecfg.Graph(ecfg.SyncTokens(ce.SyncAccount, pw))
	if err != nil {
		return nil, "", err
	}
	h.tenant.key, h.tenant.g = key, g
	return g, ce.SyncAccount, nil
}

// readTenant fills p with what the tenant holds: the objects of targets
// (by index into p.Found), or, when nothing on-premises matched, the
// tenant's users named q. A tenant it can't read becomes p.TenantNote.
func (h *Handler) readTenant(ctx context.Context, q string, p *helpdesk.LookupProps, targets map[int]tenantTarget) {
	// A sAMAccountName or DN names nothing in the cloud: only a
	// userPrincipalName or mail (both have an @) is searched for there —
	// also when objects of the forests have it, since another object in
	// the tenant may hold it (the holder of a sync error).
	search := strings.Contains(q, "@")
	if len(targets) == 0 && !search {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, tenantTimeout)
	defer cancel()
	g, account, err := h.tenantClient(ctx)
	if err == nil {
		p.TenantAccount = account
		if !search {
			q = ""
		}
		err = readTargets(ctx, g, p, targets, q)
	}
	if err != nil {
		p.TenantNote = h.tenantNote(ctx, err)
		p.CloudOnly = nil
		for i := range targets {
			p.Found[i].Tenant = nil
		}
	}
}

// readTargets reads the targets' objects, each object once, the first
// tenantReads of them, and, when q is not "", the tenant's users whose
// userPrincipalName or mail is q that are none of the targets: one $batch.
func readTargets(ctx context.Context, g *cloud.Client, p *helpdesk.LookupProps, targets map[int]tenantTarget, q string) error {
	var reqs []cloud.BatchRequest
	index := map[string]int{} // cloud id → its request
	for i := range p.Found {
		t, ok := targets[i]
		if !ok {
			continue
		}
		if _, ok := index[t.CloudID]; ok {
			continue
		}
		if len(reqs) == tenantReads {
			p.Found[i].Tenant = &helpdesk.TenantObject{Unread: fmt.Sprintf("Not read: the lookup reads the first %d objects from the tenant.", tenantReads)}
			continue
		}
		index[t.CloudID] = len(reqs)
		reqs = append(reqs, cloud.BatchRequest{Method: "GET",
			URL: "/" + tenantCollections[t.Kind] + "/" + url.PathEscape(t.CloudID) + "?$select=" + strings.Join(append([]string{"id"}, tenantProps[t.Kind]...), ",")})
	}
	if q != "" {
		reqs = append(reqs, cloudOnlyRequest(q))
	}
	if len(reqs) == 0 {
		return nil
	}
	resps, err := g.Batch(ctx, reqs)
	if err != nil {
		return err
	}
	for i := range p.Found {
		t, ok := targets[i]
		if !ok || p.Found[i].Tenant != nil {
			continue
		}
		resp := resps[index[t.CloudID]]
		var props map[string]json.RawMessage
		switch err := resp.Decode(&props); {
		case cloud.IsNotFound(err):
			p.Found[i].Tenant = &helpdesk.TenantObject{Missing: true}
		case err != nil:
			p.Found[i].Tenant = &helpdesk.TenantObject{Unread: "Not read: " + graphWords(err)}
		default:
			p.Found[i].Tenant = &helpdesk.TenantObject{Rows: tenantRows(t.Kind, t.Computed, props)}
		}
	}
	if q != "" {
		ours := map[string]bool{}
		for _, f := range p.Found {
			ours[f.CloudID] = true
		}
		p.CloudOnly, err = cloudOnly(resps[len(resps)-1], ours)
	}
	return err
}

// tenantRows lays the tenant's properties beside the computed ones.
func tenantRows(kind string, computed map[string][]string, props map[string]json.RawMessage) []helpdesk.TenantRow {
	var rows []helpdesk.TenantRow
	for _, name := range tenantProps[kind] {
		raw, returned := props[name]
		tv := jsonText(raw)
		cv, has := computed[name]
		if name == "onPremisesLastSyncDateTime" && tv == "" {
			continue // shown only when the tenant has one
		}
		if !returned && !has {
			continue // neither computed nor returned (the emulator returns no user onPremisesSyncEnabled)
		}
		row := helpdesk.TenantRow{Property: name, Tenant: tv, HasComputed: has, Computed: strings.Join(cv, "; ")}
		if has {
			row.Differs = row.Computed != row.Tenant && !(foldedProps[name] && strings.EqualFold(row.Computed, row.Tenant))
		}
		rows = append(rows, row)
	}
	return rows
}

// jsonText is a property's value as text: a string as is, null as "",
// a list of strings joined with "; " and anything else as JSON.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, "; ")
	}
	return string(raw)
}

// cloudUserProps are what the lookup reads of a cloud-only user.
var cloudUserProps = []string{"id", "userPrincipalName", "displayName", "mail", "onPremisesImmutableId", "onPremisesSyncEnabled", "onPremisesLastSyncDateTime"}

// cloudOnlyRequest asks for the tenant's users whose userPrincipalName or
// mail is q. It goes through $batch rather than cloud.FindUsers because
// cloud.User carries no onPremisesSyncEnabled, which tells a user another
// sync client owns from a cloud-only one.
func cloudOnlyRequest(q string) cloud.BatchRequest {
	filter := "userPrincipalName eq " + cloud.Quote(q) + " or mail eq " + cloud.Quote(q)
	// Graph reads "+" in $filter literally: spaces go as %20.
	return cloud.BatchRequest{Method: "GET", URL: "/users?$filter=" + strings.ReplaceAll(url.QueryEscape(filter), "+", "%20") +
		"&$select=" + strings.Join(cloudUserProps, ",") + fmt.Sprintf("&$top=%d", tenantReads)}
}

// cloudOnly reads the users cloudOnlyRequest found, leaving out the objects
// hybridsync exported (ours, by cloud id).
func cloudOnly(resp cloud.BatchResponse, ours map[string]bool) ([]helpdesk.CloudOnlyHit, error) {
	var page struct {
		Value []struct {
			ID                         string `json:"id"`
			UserPrincipalName          string `json:"userPrincipalName"`
			DisplayName                string `json:"displayName"`
			Mail                       string `json:"mail"`
			OnPremisesImmutableID      string `json:"onPremisesImmutableId"`
			OnPremisesSyncEnabled      *bool  `json:"onPremisesSyncEnabled"`
			OnPremisesLastSyncDateTime string `json:"onPremisesLastSyncDateTime"`
		} `json:"value"`
	}
	if err := resp.Decode(&page); err != nil {
		return nil, err
	}
	var out []helpdesk.CloudOnlyHit
	for _, v := range page.Value {
		if ours[v.ID] {
			continue
		}
		out = append(out, helpdesk.CloudOnlyHit{ID: v.ID, UPN: v.UserPrincipalName, DisplayName: v.DisplayName, Mail: v.Mail,
			ImmutableID: v.OnPremisesImmutableID, LastSync: v.OnPremisesLastSyncDateTime, SyncEnabled: v.OnPremisesSyncEnabled != nil && *v.OnPremisesSyncEnabled})
	}
	return out, nil
}

// tenantNote words why the tenant could not be read, for the page; what
// it can't word is logged.
func (h *Handler) tenantNote(ctx context.Context, err error) string {
	var nt *noTenant
	var te *cloud.TokenError
	var ne net.Error
	switch {
	case errors.As(err, &nt):
		return nt.msg
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return fmt.Sprintf("Microsoft Entra ID did not answer within %s.", tenantTimeout)
	case errors.As(err, &te):
		return fmt.Sprintf("the sync service account could not sign in (%s, AADSTS%d).", te.ErrorCode, te.AADSTS())
	case errors.As(err, new(*cloud.Error)):
		return graphWords(err)
	case errors.As(err, &ne):
		h.log.Warn("lookup: the tenant could not be reached", "err", err)
		return "Microsoft Entra ID could not be reached (the server log has the details)."
	}
	h.log.Warn("lookup: the tenant could not be read", "err", err)
	return "hybridsync could not read it (the server log has the details)."
}

// graphWords words a Graph error answer.
func graphWords(err error) string {
	var ge *cloud.Error
	if errors.As(err, &ge) {
		return fmt.Sprintf("Microsoft Graph answered %d %s: %s", ge.Status, ge.Code, ge.Message)
	}
	return "Microsoft Graph's answer could not be read."
}

package setup

import (
	"context"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// Writeback is the Writeback page, shown when group or device writeback is
// chosen on Optional features, as Entra Connect adds its own pages for them:
// for groups, the one forest and organizational unit that receive Microsoft
// 365 groups and how they are named; for devices, the forest whose users own
// the devices. A forest that is not ready yet (no device container, no rights
// for the connector account) is prepared by Configure with one-time
// enterprise admin credentials typed here, or Configure hands over the
// commands that do it. It never holds a password.
type Writeback struct {
	GroupForest string `json:"groupForest,omitempty"`
	// GroupOU is the DN of the organizational unit (or container) that
	// receives the written-back groups.
	GroupOU      string `json:"groupOu,omitempty"`
	GroupNaming  string `json:"groupNaming,omitempty"`
	DeviceForest string `json:"deviceForest,omitempty"`
	// Admins are the enterprise admin credentials entered per forest, which
	// the vault holds until Configure has used them once.
	Admins map[string]WritebackAdmin `json:"admins,omitempty"`
}

// WritebackAdmin is one forest's enterprise admin for preparing writeback.
type WritebackAdmin struct {
	// User is what was typed (kept so that an error loses nothing).
	User      string `json:"user,omitempty"`
	EnteredAs string `json:"enteredAs,omitempty"`
	EnteredAt string `json:"enteredAt,omitempty"`
}

// How written-back groups are named (the seed's two formats).
const (
	// NamingObjectID: CN=Group_<objectId>, Entra Connect's default.
	NamingObjectID = "object-id"
	// NamingDisplayName: CN=<displayName>_<the last 12 characters of the
	// objectId>, "Writeback group Distinguished Name with cloud Display Name".
	NamingDisplayName = "display-name"
)

const (
	ActionWritebackAdmin  = "wb_admin"
	ActionWritebackForget = "wb_forget"
	// ActionWritebackRefresh shows the page again with the forests chosen
	// (their OU tree, their readiness).
	ActionWritebackRefresh = "refresh"
)

// Messages of the writeback rules.
const (
	MsgWBGroupForest   = "Choose the forest that receives Microsoft 365 groups."
	MsgWBGroupOU       = "Choose the organizational unit that receives Microsoft 365 groups."
	MsgWBGroupOUForest = "Choose an organizational unit of the forest that receives the groups."
	MsgWBNaming        = "Choose how written-back groups are named."
	MsgWBDeviceForest  = "Choose the forest whose users own the devices."
	MsgWBNoExchange    = "Group writeback is available only if you have Exchange in your on-premises Active Directory: the schema of this forest has no Exchange attributes."
	MsgWBNotStored     = "The enterprise admin credentials are used once, by Configure, to prepare the forest (create the device containers, grant the connector account its rights). They are kept in memory until then and never stored."
	MsgWBAdminGone     = "Enter the enterprise admin credentials for this forest again: hybridsync keeps them only in memory, and the server restarted (or they expired) since you entered them. Or forget them: Configure then gives you the commands to run instead."
	MsgWBChooseOU      = "Choose the organizational unit for the groups above, then select Refresh: hybridsync checks it and the connector account's rights on it."
	MsgWBPrepareLater  = "Configure prepares this forest with the enterprise admin credentials you enter below. Without them, Configure gives you the commands an enterprise admin runs instead, and writeback into this forest waits until they have run."
)

// WritebackVaultKey is the vault key of a forest's writeback preparation
// credentials, apart from the other one-time credentials.
func WritebackVaultKey(forest string) string { return "writeback:" + forest }

// WritebackReadiness is what a forest offers writeback, as the connector
// account (or, before Configure created it, the enterprise admin of Connect
// your directories) reads it; Groups and Devices are nil for a feature not
// asked about.
type WritebackReadiness struct {
	Groups  *directory.GroupReadiness
	Devices *directory.DeviceReadiness
	// Commands are what an enterprise admin runs to prepare the forest by
	// hand, when Configure is given no credentials.
	Commands string
}

// writebackChecker reads readiness and holds the preparation credentials;
// the StoreChecker has it (writeback_check.go). Unit tests give a fake.
type writebackChecker interface {
	WritebackReadiness(ctx context.Context, fc ForestConn, ou string, devices bool) (WritebackReadiness, error)
	// CheckWritebackAdmin binds as user, requires an Enterprise Admin of the
	// forest, and keeps the credentials in the vault under WritebackVaultKey.
	CheckWritebackAdmin(ctx context.Context, fc ForestConn, user, password string) error
	HasWritebackAdmin(forest string) bool
	ForgetWritebackAdmin(forest string)
}

// WritebackShown reports whether the Writeback page is part of the wizard.
func WritebackShown(a *Answers) bool { return a.Features.GroupWriteback || a.Features.DeviceWriteback }

// Forests are the forests the chosen writebacks write into, each once.
func (w Writeback) Forests(a *Answers) []string {
	var out []string
	if a.Features.GroupWriteback && w.GroupForest != "" {
		out = append(out, w.GroupForest)
	}
	if a.Features.DeviceWriteback && w.DeviceForest != "" && w.DeviceForest != w.GroupForest {
		out = append(out, w.DeviceForest)
	}
	return out
}

// forestConn finds an added forest by name.
func (d Directories) forestConn(name string) (ForestConn, bool) {
	for _, fc := range d.Forests {
		if strings.EqualFold(fc.Forest, name) {
			return fc, true
		}
	}
	return ForestConn{}, false
}

// WritebackView is what the page shows beyond the answers.
type WritebackView struct {
	// Tree is the group forest's first level, for picking the OU; nil when
	// no forest is chosen.
	Tree *ForestTree
	// Readiness and its error, per forest.
	Readiness map[string]WritebackReadiness
	Errors    map[string]string
}

var writebackPage = Page{
	ID:        PageWriteback,
	Title:     "Writeback",
	Section:   "Optional features",
	ShownWhen: WritebackShown,
	Bind: func(a *Answers, f Form) {
		w := &a.Writeback
		w.GroupForest = f.str("group_forest")
		w.GroupOU = f.str("group_ou")
		w.GroupNaming = f.str("group_naming")
		w.DeviceForest = f.str("device_forest")
		if w.Admins == nil {
			w.Admins = map[string]WritebackAdmin{}
		}
		for _, fc := range a.Directories.Forests {
			if u, ok := f.Values["wb_user:"+fc.Forest]; ok && len(u) > 0 {
				adm := w.Admins[fc.Forest]
				adm.User = strings.TrimSpace(u[0])
				w.Admins[fc.Forest] = adm
			}
		}
	},
	Validate: validateWriteback,
	Notices:  writebackNotices,
	View:     viewWriteback,
	Act:      actWriteback,
}

func validateWriteback(ctx context.Context, a *Answers, chk Checker) Errors {
	e := Errors{}
	w := a.Writeback
	if len(a.Directories.Forests) == 0 {
		e.Add("", "Add a forest on Connect your directories first: writeback writes into one of them.")
		return e
	}
	if a.Features.GroupWriteback {
		fc, ok := a.Directories.forestConn(w.GroupForest)
		switch {
		case !ok:
			e.Add("group_forest", MsgWBGroupForest)
		case !fc.HasExchange:
			e.Add("group_forest", MsgWBNoExchange)
		case w.GroupOU == "":
			e.Add("group_ou", MsgWBGroupOU)
		case !directory.DNUnder(w.GroupOU, fc.RootDN):
			e.Add("group_ou", MsgWBGroupOUForest)
		}
		if w.GroupNaming != NamingObjectID && w.GroupNaming != NamingDisplayName {
			e.Add("group_naming", MsgWBNaming)
		}
	}
	if a.Features.DeviceWriteback {
		if _, ok := a.Directories.forestConn(w.DeviceForest); !ok {
			e.Add("device_forest", MsgWBDeviceForest)
		}
	}
	if len(e) > 0 {
		return e
	}
	wc, _ := chk.(writebackChecker)
	if wc == nil {
		return e
	}
	for _, forest := range w.Forests(a) {
		fc, _ := a.Directories.forestConn(forest)
		adm := w.Admins[fc.Forest]
		if adm.EnteredAs != "" && !wc.HasWritebackAdmin(fc.Forest) {
			e.Add("wb_admin:"+fc.Forest, MsgWBAdminGone)
		}
		ou := ""
		if a.Features.GroupWriteback && strings.EqualFold(forest, w.GroupForest) {
			ou = w.GroupOU
		}
		devices := a.Features.DeviceWriteback && strings.EqualFold(forest, w.DeviceForest)
		r, err := wc.WritebackReadiness(ctx, fc, ou, devices)
		if err != nil {
			e.Add("wb:"+fc.Forest, CheckMessage(err))
			continue
		}
		if msg := writebackBlocker(r); msg != "" {
			field := "wb:" + fc.Forest
			if r.Groups != nil && !r.Groups.OUExists {
				field = "group_ou"
			}
			e.Add(field, msg)
		}
	}
	return e
}

// writebackBlocker is what stops writeback into a forest whatever Configure
// does: a schema without the device classes, an OU that is not there.
// Missing containers and rights are not: Configure prepares them, or says
// how.
func writebackBlocker(r WritebackReadiness) string {
	if d := r.Devices; d != nil {
		missing := d.Schema.Missing(append(append([]string{}, directory.DeviceSchemaClasses...), directory.DeviceSchemaAttributes...))
		if len(missing) > 0 {
			return "Device writeback needs the Windows Server 2012 R2 schema or later, where msDS-Device and its attributes exist; this forest's schema is " +
				d.Schema.Release + " and lacks " + strings.Join(missing, ", ") + ". Extend the schema (adprep /forestprep of Windows Server 2012 R2 or later), then select Next again."
		}
	}
	if g := r.Groups; g != nil && !g.OUExists {
		return "The organizational unit " + g.OU + " is not in the forest (any more). Choose another one."
	}
	return ""
}

// writebackNeedsPreparation reports whether Configure has something to
// prepare in the forest: containers to create or rights to grant.
func writebackNeedsPreparation(r WritebackReadiness) bool {
	if d := r.Devices; d != nil && d.NeedsPreparation() {
		return true
	}
	if g := r.Groups; g != nil && g.RightsChecked && len(g.MissingRights) > 0 {
		return true
	}
	return false
}

func writebackNotices(a *Answers) []Notice {
	return []Notice{{Level: "info", Text: MsgWBNotStored, About: "wb_admins", PageOnly: true}}
}

func viewWriteback(ctx context.Context, a *Answers, chk Checker) any {
	v := WritebackView{Readiness: map[string]WritebackReadiness{}, Errors: map[string]string{}}
	w := &a.Writeback
	// The defaults: the only forest, Entra Connect's naming.
	if len(a.Directories.Forests) == 1 {
		only := a.Directories.Forests[0].Forest
		if a.Features.GroupWriteback && w.GroupForest == "" {
			w.GroupForest = only
		}
		if a.Features.DeviceWriteback && w.DeviceForest == "" {
			w.DeviceForest = only
		}
	}
	if a.Features.GroupWriteback && w.GroupForest == "" {
		// The only forest whose schema has Exchange, which group writeback needs.
		var with []string
		for _, fc := range a.Directories.Forests {
			if fc.HasExchange {
				with = append(with, fc.Forest)
			}
		}
		if len(with) == 1 {
			w.GroupForest = with[0]
		}
	}
	if w.GroupNaming == "" {
		w.GroupNaming = NamingObjectID
	}
	if chk == nil {
		return v
	}
	if fc, ok := a.Directories.forestConn(w.GroupForest); ok && a.Features.GroupWriteback {
		t := ForestTree{Forest: fc.Forest, Root: TreeNode{Node: directory.Node{DN: fc.RootDN, Name: fc.Forest, Class: "domainDNS", HasChildren: true}}}
		nodes, err := chk.Children(ctx, fc, fc.RootDN)
		if err != nil {
			t.Error = CheckMessage(err)
		}
		for _, n := range nodes {
			t.Nodes = append(t.Nodes, TreeNode{Node: n, Selected: strings.EqualFold(n.DN, w.GroupOU)})
		}
		v.Tree = &t
	}
	wc, _ := chk.(writebackChecker)
	if wc == nil {
		return v
	}
	for _, forest := range w.Forests(a) {
		fc, _ := a.Directories.forestConn(forest)
		ou := ""
		if a.Features.GroupWriteback && strings.EqualFold(forest, w.GroupForest) {
			ou = w.GroupOU
		}
		r, err := wc.WritebackReadiness(ctx, fc, ou, a.Features.DeviceWriteback && strings.EqualFold(forest, w.DeviceForest))
		if err != nil {
			v.Errors[fc.Forest] = CheckMessage(err)
			continue
		}
		v.Readiness[fc.Forest] = r
	}
	return v
}

// OUPending reports whether forest receives the groups but no organizational
// unit is chosen yet, so its readiness for groups is still unknown.
func (w Writeback) OUPending(a *Answers, forest string) bool {
	return a.Features.GroupWriteback && strings.EqualFold(w.GroupForest, forest) && w.GroupOU == ""
}

// NeedsPreparation reports whether Configure prepares (or asks an admin to
// prepare) the forest, by the readiness the page read.
func (v WritebackView) NeedsPreparation(forest string) bool {
	r, ok := v.Readiness[forest]
	return ok && writebackNeedsPreparation(r)
}

func actWriteback(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
	if action == ActionWritebackRefresh {
		return Errors{}
	}
	kind, forest, _ := strings.Cut(action, ":")
	fc, ok := a.Directories.forestConn(forest)
	if !ok || (kind != ActionWritebackAdmin && kind != ActionWritebackForget) {
		return Errors{"": "This page has no such button. Reload the page and try again."}
	}
	w := &a.Writeback
	if w.Admins == nil {
		w.Admins = map[string]WritebackAdmin{}
	}
	adm := w.Admins[fc.Forest]
	wc, _ := chk.(writebackChecker)
	e := Errors{}
	if kind == ActionWritebackForget {
		if wc != nil {
			wc.ForgetWritebackAdmin(fc.Forest)
		}
		adm.EnteredAs, adm.EnteredAt = "", ""
		w.Admins[fc.Forest] = adm
		return e
	}
	if msg := checkADUser(adm.User); msg != "" {
		e.Add("wb_user:"+fc.Forest, msg)
	}
	pw := f.raw("wb_password:" + fc.Forest)
	if pw == "" {
		e.Add("wb_password:"+fc.Forest, "Enter the password.")
	}
	if fc.Security == SecurityInsecure {
		e.Add("wb_admin:"+fc.Forest, "Preparing a forest changes its permissions: hybridsync does it only over LDAPS or StartTLS. Connect to this forest with LDAPS or StartTLS, or run the commands Configure gives you.")
	}
	if len(e) > 0 || wc == nil {
		return e
	}
	if err := wc.CheckWritebackAdmin(ctx, fc, adm.User, pw); err != nil {
		e.Add("wb_admin:"+fc.Forest, CheckMessage(err))
		return e
	}
	adm.EnteredAs, adm.EnteredAt = adm.User, time.Now().UTC().Format(time.RFC3339)
	w.Admins[fc.Forest] = adm
	return e
}

// GroupCN is the cn of a written-back group: Group_<objectId>, or the display
// name (trimmed, at most 51 characters, as Entra Cloud Sync's mapping cuts
// it) and "_" and the last 12 characters of the objectId.
func GroupCN(naming, objectID, displayName string) string {
	if naming != NamingDisplayName {
		return "Group_" + objectID
	}
	name := []rune(strings.TrimSpace(displayName))
	if len(name) > 51 {
		name = name[:51]
	}
	tail := objectID
	if len(tail) > 12 {
		tail = tail[len(tail)-12:]
	}
	return string(name) + "_" + tail
}

// summarizeWriteback is the page's part of the summary.
func summarizeWriteback(a Answers) []SummaryRow {
	if !WritebackShown(&a) {
		return nil
	}
	w := a.Writeback
	var rows []SummaryRow
	if a.Features.GroupWriteback {
		naming := "Group_<objectId>"
		if w.GroupNaming == NamingDisplayName {
			naming = "display name and the last 12 characters of the objectId"
		}
		rows = append(rows, SummaryRow{"Group writeback", w.GroupOU + " in " + w.GroupForest + ", named " + naming})
	}
	if a.Features.DeviceWriteback {
		rows = append(rows, SummaryRow{"Device writeback", "Devices of the users of " + w.DeviceForest})
	}
	for _, forest := range w.Forests(&a) {
		if adm := w.Admins[forest]; adm.EnteredAs != "" {
			rows = append(rows, SummaryRow{"Prepare " + forest + " for writeback", "with the enterprise admin " + adm.EnteredAs + " (once, by Configure)"})
		}
	}
	return rows
}

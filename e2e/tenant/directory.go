package tenant

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
)

// DefaultMFACode is the one-time code an MFA account accepts when its seed
// names none.
const DefaultMFACode = "123456"

// objects is the directory beyond users: groups, contacts, devices, role
// assignments and the tenant's sync settings. It lives in Tenant, under t.mu.
type objects struct {
	groups   map[string]*group   // by id
	contacts map[string]*contact // by id
	devices  map[string]*device  // by id
	// applications and servicePrincipals by id (applications.go)
	applications      map[string]*application
	servicePrincipals map[string]*servicePrincipal
	assignments       []*roleAssignment
	dirSync           dirSync
	// orgSyncEnabled is organization.onPremisesSyncEnabled: null until
	// directory synchronization is first turned on.
	orgSyncEnabled *bool
	// verifiable are the domain names whose verification records are
	// "published": POST /domains/{id}/verify succeeds for them.
	verifiable map[string]bool
	// journal is the change log delta queries read (delta.go).
	journal journal
}

func newObjects() objects {
	return objects{groups: map[string]*group{}, contacts: map[string]*contact{}, devices: map[string]*device{},
		applications: map[string]*application{}, servicePrincipals: map[string]*servicePrincipal{}, dirSync: defaultDirSync(), verifiable: map[string]bool{},
		journal: journal{Epoch: newGUID()}}
}

// signInFacts is what sign-in needs to know about an account, copied under t.mu.
type signInFacts struct {
	UserID, UPN, DisplayName                 string
	Exists, PasswordOK, Enabled, MFA, Locked bool
	MFACode                                  string
	Roles                                    []string // directory role template ids, seeded and assigned
	Groups                                   []string // ids of the groups it is a direct member of
}

// signInFacts looks an account up by userPrincipalName (case-insensitive) and
// checks password. It takes t.mu itself.
func (t *Tenant) signInFacts(upn, password string) signInFacts {
	t.mu.Lock()
	defer t.mu.Unlock()
	id, ok := t.byUPN[strings.ToLower(upn)]
	if !ok {
		return signInFacts{UPN: upn}
	}
	f := t.factsLocked(id)
	u := t.users[id]
	f.PasswordOK = u.Password != "" && subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) == 1
	return f
}

// userFacts is the same without a password check, by user id (for refresh
// tokens / ID tokens).
func (t *Tenant) userFacts(userID string) signInFacts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.factsLocked(strings.ToLower(userID))
}

// factsLocked copies an account's facts. Caller holds t.mu.
func (t *Tenant) factsLocked(id string) signInFacts {
	u := t.users[id]
	if u == nil {
		return signInFacts{}
	}
	f := signInFacts{
		UserID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName,
		Exists: true, Enabled: u.AccountEnabled, MFA: u.MFA, Locked: u.Locked,
		Roles: t.rolesOfLocked(u.ID), Groups: t.memberOfLocked(u.ID),
	}
	if f.MFA {
		f.MFACode = u.MFACode
		if f.MFACode == "" {
			f.MFACode = DefaultMFACode
		}
	}
	return f
}

// memberOfLocked are the ids of the groups id is a direct member of, in
// creation order. Caller holds t.mu.
func (t *Tenant) memberOfLocked(id string) []string {
	var gs []*group
	for _, g := range t.groups {
		if slices.Contains(g.Members, id) {
			gs = append(gs, g)
		}
	}
	slices.SortFunc(gs, func(a, b *group) int { return int(a.Seq - b.Seq) })
	out := []string{}
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

// forgetObjectLocked drops a deleted object from group memberships and
// owners, devices' registered owners and role assignments. Caller holds t.mu.
func (t *Tenant) forgetObjectLocked(id string) {
	for _, g := range t.groups {
		if slices.Contains(g.Members, id) {
			g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == id })
			// "either by removing the membership or by deleting the user
			// object itself" (delta-query-groups).
			t.recordMemberLocked(g.ID, id, true)
		}
		g.Owners = slices.DeleteFunc(g.Owners, func(m string) bool { return m == id })
	}
	for _, d := range t.devices {
		d.RegisteredOwners = slices.DeleteFunc(d.RegisteredOwners, func(m string) bool { return m == id })
	}
	t.assignments = slices.DeleteFunc(t.assignments, func(a *roleAssignment) bool { return a.PrincipalID == id })
}

// objectJSONLocked renders any directory object by id, as a directoryObject
// collection member (@odata.type set), with the properties of sel its type
// has (nil: its type's default set). Caller holds t.mu.
func (t *Tenant) objectJSONLocked(id string, sel []string) (map[string]any, int64, bool) {
	var m map[string]any
	var seq int64
	var typ string
	if u := t.users[id]; u != nil {
		typ, seq = "user", u.Seq
		m = u.json(selectFor(typ, sel))
	} else if g := t.groups[id]; g != nil {
		typ, seq = "group", g.Seq
		m = g.json(selectFor(typ, sel))
	} else if c := t.contacts[id]; c != nil {
		typ, seq = "orgContact", c.Seq
		m = c.json(selectFor(typ, sel))
	} else if d := t.devices[id]; d != nil {
		typ, seq = "device", d.Seq
		m = d.json(selectFor(typ, sel))
	} else {
		return nil, 0, false
	}
	m["@odata.type"] = typeOfObject(typ)
	return m, seq, true
}

// ---- /me -------------------------------------------------------------------------

// meLocked is the signed-in user of a delegated token, or an error: Graph
// refuses /me for app-only tokens. Caller holds t.mu.
func (t *Tenant) meLocked(r *http.Request) (*user, *graphError) {
	p := principalFrom(r)
	if u := t.users[strings.ToLower(p.OID)]; u != nil {
		return u, nil
	}
	return nil, newGraphError(r, http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.", nil)
}

func (t *Tenant) handleMe(w http.ResponseWriter, r *http.Request) {
	t.mu.Lock()
	u, e := t.meLocked(r)
	var m map[string]any
	if u != nil {
		m = u.json(selectOf(r))
		t.expandLocked(r, m)
	}
	t.mu.Unlock()
	if e != nil {
		writeGErr(w, e)
		return
	}
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#users/$entity"
	writeJSON(w, http.StatusOK, m)
}

// handleMemberOf: GET /me/memberOf[/microsoft.graph.{group|directoryRole}]
// and the same under /users/{id}: the groups (direct membership) and the
// activated directory roles the user holds.
func (t *Tenant) handleMemberOf(w http.ResponseWriter, r *http.Request) {
	cast := r.PathValue("cast")
	switch cast {
	case "", "microsoft.graph.group", "microsoft.graph.directoryRole":
	default:
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+cast+"'.", nil)
		return
	}
	t.mu.Lock()
	var u *user
	var e *graphError
	if id := r.PathValue("id"); id != "" {
		if u = t.lookup(id); u == nil {
			e = notFound(r, id)
		}
	} else {
		u, e = t.meLocked(r)
	}
	var items []pageItem
	if e == nil {
		if cast != "microsoft.graph.directoryRole" {
			for _, gid := range t.memberOfLocked(u.ID) {
				m, seq, _ := t.objectJSONLocked(gid, selectOf(r))
				items = append(items, pageItem{seq: seq, body: m})
			}
		}
		if cast != "microsoft.graph.group" {
			for i, role := range t.rolesOfLocked(u.ID) {
				m := t.directoryRoleJSON(role)
				if sel := selectOf(r); len(sel) > 0 {
					m = project(m, selectFor("directoryRole", sel), nil)
					m["@odata.type"] = typeOfObject("directoryRole")
				}
				items = append(items, pageItem{seq: 1<<40 + int64(i), body: m})
			}
		}
	}
	t.mu.Unlock()
	if e != nil {
		writeGErr(w, e)
		return
	}
	meta := "directoryObjects"
	if cast != "" {
		meta += "/" + cast
	}
	servePage(w, r, meta, items)
}

package cycle_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// joinKeyOf is the metaverse object an object of f joined, by DN ("" when
// it is not in the metaverse).
func (r *rig) joinKeyOf(f *forest.Forest, dn string) string {
	r.t.Helper()
	ctx := context.Background()
	rows, err := r.st.CSObjectsByDN(ctx, strings.ToLower(f.Name), []string{dn})
	if err != nil || len(rows) != 1 {
		r.t.Fatalf("%s in the connector space of %s: %d row(s), %v", dn, f.Name, len(rows), err)
	}
	keys, err := r.st.MetaverseJoinKeys(ctx)
	if err != nil {
		r.t.Fatal(err)
	}
	return keys[store.MVSource{Connector: rows[0].Connector, Anchor: rows[0].Anchor}]
}

// A user in corp and a user in fabrikam that are the same person, and a pair
// that is not, joined across the two live forests on each of the wizard's
// matching rules: the pair becomes one metaverse object and one user in the
// tenant; the others stay apart; a user whose matching attribute is
// unpopulated is not synchronized where the rule says so.
func TestTwoForestJoinOnEachMatchingRule(t *testing.T) {
	corp, fab := forests(t)
	cases := []struct {
		name  string
		ident setup.Identifying
		// same and other are the attributes of the pair that must join and of
		// the pair that must not (corp's, fabrikam's); sid links fabrikam's
		// same user to corp's by msExchMasterAccountSID.
		same, other [2]map[string][]string
		sid         bool
		// unpopulated: a corp user without the matching attribute is not
		// synchronized (else it is, on its own).
		unpopulated bool
	}{
		{
			name:  "once",
			ident: setup.Identifying{Matching: setup.MatchOnce},
			same:  [2]map[string][]string{{"mail": {"once.same@example.com"}}, {"mail": {"once.same2@example.com"}}},
			other: [2]map[string][]string{{"mail": {"once.a@example.com"}}, {"mail": {"once.b@example.com"}}},
		},
		{
			name:        "mail",
			ident:       setup.Identifying{Matching: setup.MatchMail},
			same:        [2]map[string][]string{{"mail": {"Pat.Mail@example.com"}}, {"mail": {"pat.mail@example.com"}}},
			other:       [2]map[string][]string{{"mail": {"mail.a@example.com"}}, {"mail": {"mail.b@example.com"}}},
			unpopulated: true,
		},
		{
			name:  "objectSID and msExchMasterAccountSID",
			ident: setup.Identifying{Matching: setup.MatchSIDs},
			sid:   true,
		},
		{
			name:  "sAMAccountName and mailNickname",
			ident: setup.Identifying{Matching: setup.MatchSAMMailNickname},
			same:  [2]map[string][]string{{"mailNickname": {"pat"}}, {"mailNickname": {"pat"}}},
			other: [2]map[string][]string{{"mailNickname": {"pat"}}, {"mailNickname": {"pat-other"}}},
		},
		{
			name:        "employeeID",
			ident:       setup.Identifying{Matching: setup.MatchAttribute, MatchingAttribute: "employeeID"},
			same:        [2]map[string][]string{{"employeeID": {"J-0042"}}, {"employeeID": {"j-0042"}}},
			other:       [2]map[string][]string{{"employeeID": {"J-0043"}}, {"employeeID": {"J-0044"}}},
			unpopulated: true,
		},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ou := fmt.Sprintf("Join %d", i)
			corpOU, fabOU := makeOU(t, corp, ou), makeOU(t, fab, ou)
			tag := fmt.Sprintf("J%d", i) // display names start with it: the tenant's users of this case
			// The same sAMAccountName in both forests (the fourth rule joins on it with mailNickname).
			same := [2]user{
				{sam: "pat" + tag, display: tag + " Pat Same", upn: "pat" + tag + "@corp.example.test", attrs: tc.same[0]},
				{sam: "pat" + tag, display: tag + " Pat Same", upn: "pat" + tag + "@fabrikam.example.test", attrs: tc.same[1]},
			}
			other := [2]user{
				{sam: "alex" + tag, display: tag + " Alex Corp", upn: "alex" + tag + "@corp.example.test", attrs: tc.other[0]},
				{sam: "alex" + tag, display: tag + " Alex Fabrikam", upn: "alex" + tag + "@fabrikam.example.test", attrs: tc.other[1]},
			}
			addUsers(t, corp, corpOU, []user{same[0], other[0]})
			if tc.sid {
				// fabrikam is the resource forest: its disabled user carries
				// corp's account's SID.
				same[1].disabled = true
				same[1].attrs = map[string][]string{"msExchMasterAccountSid": {objectSID(t, corp, same[0].dn(corpOU))}}
			}
			addUsers(t, fab, fabOU, []user{same[1], other[1]})
			bare := user{sam: "bare" + tag, display: tag + " Bare", upn: "bare" + tag + "@corp.example.test"}
			addUsers(t, corp, corpOU, []user{bare})

			r := newRig(t, map[*forest.Forest][]string{corp: {corpOU}, fab: {fabOU}}, tc.ident)
			r.succeeds(cycle.Params{})

			joined := tc.name != "once"
			a, b := r.joinKeyOf(corp, same[0].dn(corpOU)), r.joinKeyOf(fab, same[1].dn(fabOU))
			if a == "" || b == "" || (a == b) != joined {
				t.Errorf("the same person: metaverse %q and %q, joined = %v, want %v", a, b, a == b, joined)
			}
			if a, b := r.joinKeyOf(corp, other[0].dn(corpOU)), r.joinKeyOf(fab, other[1].dn(fabOU)); a == "" || b == "" || a == b {
				t.Errorf("two different people: metaverse %q and %q, want two objects", a, b)
			}
			wantSame := 2
			if joined {
				wantSame = 1
			}
			if got := len(r.users(tag + " Pat Same")); got != wantSame {
				t.Errorf("%d user(s) %q in the tenant, want %d", got, tag+" Pat Same", wantSame)
			}
			if got := len(r.users(tag + " Alex")); got != 2 {
				t.Errorf("%d user(s) %q in the tenant, want 2", got, tag+" Alex")
			}
			bareKey := r.joinKeyOf(corp, bare.dn(corpOU))
			if tc.unpopulated == (bareKey != "") {
				t.Errorf("a user without the matching attribute: in the metaverse as %q, want synchronized = %v", bareKey, !tc.unpopulated)
			}
			if got := len(r.users(tag + " Bare")); (got == 1) == tc.unpopulated {
				t.Errorf("%d user(s) without the matching attribute in the tenant; unpopulated means not synced = %v", got, tc.unpopulated)
			}
		})
	}
}

// The same userPrincipalName in two forests whose users are represented
// once each: the second to reach the tenant is quarantined the way the cloud
// does it — a placeholder UPN in the initial domain — recorded as a sync
// error, and the cycle succeeds.
func TestDuplicateUPNAcrossForestsIsQuarantined(t *testing.T) {
	t.Parallel()
	corp, fab := forests(t)
	corpOU, fabOU := makeOU(t, corp, "Duplicate UPN"), makeOU(t, fab, "Duplicate UPN")
	upn := "dana.dup@corp.example.test"
	addUsers(t, corp, corpOU, []user{{sam: "danadup", display: "DupUPN Dana Corp", upn: upn}})
	addUsers(t, fab, fabOU, []user{{sam: "danadup", display: "DupUPN Dana Fabrikam", upn: upn}})

	r := newRig(t, map[*forest.Forest][]string{corp: {corpOU}, fab: {fabOU}}, setup.Identifying{Matching: setup.MatchOnce})
	j, msgs := r.cycle(cycle.Params{})
	if j.Status != jobs.Errors || !strings.Contains(msgs, "sync error") {
		t.Errorf("the cycle %s, want completed with errors, its log naming the sync error:\n%s", j.Status, msgs)
	}
	us := r.users("DupUPN Dana")
	if len(us) != 2 {
		t.Fatalf("%d user(s) in the tenant, want both: %+v", len(us), us)
	}
	var kept, quarantined int
	for _, u := range us {
		switch {
		case strings.EqualFold(u.UserPrincipalName, upn):
			kept++
		case strings.HasSuffix(u.UserPrincipalName, "@contoso.onmicrosoft.com") && strings.Contains(u.UserPrincipalName, "+"):
			quarantined++
		}
	}
	if kept != 1 || quarantined != 1 {
		t.Errorf("UPNs in the tenant: %q, %q; want %s once and one placeholder prefix+NNNN@contoso.onmicrosoft.com",
			us[0].UserPrincipalName, us[1].UserPrincipalName, upn)
	}
	errs, err := r.st.SyncErrors(context.Background(), true, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != 1 || !strings.EqualFold(errs[0].Attribute, "userPrincipalName") || !strings.EqualFold(errs[0].Value, upn) {
		t.Errorf("open sync errors: %+v, want one for the userPrincipalName %s", errs, upn)
	}
	// A second cycle leaves it as it is: no new user, the error still open,
	// and the cycle says so.
	if j, msgs := r.cycle(cycle.Params{}); j.Status != jobs.Errors {
		t.Errorf("a cycle with a sync error open: %s, want completed with errors\n%s", j.Status, msgs)
	}
	if got := len(r.users("DupUPN Dana")); got != 2 {
		t.Errorf("%d user(s) after a second cycle, want 2", got)
	}
}

// An object that leaves the scope — moved into an OU that filtering leaves
// out — is deleted from the tenant by the next (delta) cycle: one delete,
// within the threshold.
func TestObjectMovedOutOfScopeIsDeleted(t *testing.T) {
	t.Parallel()
	corp, _ := forests(t)
	in, out := makeOU(t, corp, "Scope In"), makeOU(t, corp, "Scope Out")
	users := []user{
		{sam: "scope1", display: "Scope User 1", upn: "scope1@corp.example.test"},
		{sam: "scope2", display: "Scope User 2", upn: "scope2@corp.example.test"},
		{sam: "scope3", display: "Scope User 3", upn: "scope3@corp.example.test"},
	}
	addUsers(t, corp, in, users)
	r := newRig(t, map[*forest.Forest][]string{corp: {in}}, setup.Identifying{})
	r.succeeds(cycle.Params{})
	if got := len(r.users("Scope User")); got != 3 {
		t.Fatalf("%d user(s) in the tenant after the first cycle, want 3", got)
	}

	conn, err := corp.Dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.ModifyDN(ldap.NewModifyDNRequest(users[1].dn(in), "CN="+ldap.EscapeDN(users[1].display), true, out)); err != nil {
		t.Fatal(err)
	}
	msgs := r.succeeds(cycle.Params{})
	n, err := r.st.CountCSObjects(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	limit := fmt.Sprintf("Soft memory limit: %d MiB for %d connector-space object(s)", metaverse.MemoryLimitFor(n)>>20, n)
	for _, want := range []string{"delta import", "Delta sync of", "1 delete(s)", limit} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the second cycle's log lacks %q:\n%s", want, msgs)
		}
	}
	left := r.users("Scope User")
	if len(left) != 2 {
		t.Fatalf("%d user(s) in the tenant after the move, want 2", len(left))
	}
	for _, u := range left {
		if u.DisplayName == users[1].display {
			t.Errorf("%s moved out of scope and is still in the tenant", u.DisplayName)
		}
	}
}

// An OU with more users than the deletion threshold (500) cleared on Domain
// and OU filtering: the export does not start, nothing is deleted, the run
// is stopped-deletion-threshold-exceeded with every pending delete listed;
// allowed once, the deletes go through.
func TestOUUntickedOverTheThresholdStopsTheExport(t *testing.T) {
	t.Parallel()
	corp, _ := forests(t)
	bulk, keep := makeOU(t, corp, "Guard Bulk"), makeOU(t, corp, "Guard Keep")
	const n = 520
	var users []user
	for i := range n {
		users = append(users, user{sam: fmt.Sprintf("guard%03d", i), display: fmt.Sprintf("Guard User %03d", i), upn: fmt.Sprintf("guard%03d@corp.example.test", i)})
	}
	addUsers(t, corp, bulk, users)
	addUsers(t, corp, keep, []user{{sam: "guardkeep", display: "Guard Keeper", upn: "guardkeep@corp.example.test"}})

	r := newRig(t, map[*forest.Forest][]string{corp: {bulk, keep}}, setup.Identifying{})
	r.succeeds(cycle.Params{})
	if got := len(r.users("Guard User")); got != n {
		t.Fatalf("%d user(s) in the tenant after the first cycle, want %d", got, n)
	}

	r.scopeTo(corp, keep) // Guard Bulk cleared
	j, msgs := r.cycle(cycle.Params{})
	if j.Status != jobs.Stopped || !strings.Contains(j.Error, "deletion guard") {
		t.Fatalf("the cycle over the threshold: %s %q\n%s", j.Status, j.Error, msgs)
	}
	if got := len(r.users("Guard User")); got != n {
		t.Errorf("%d user(s) in the tenant after the stopped export, want %d: something was deleted", got, n)
	}
	runs, err := r.st.ExportRuns(context.Background(), 1)
	if err != nil || len(runs) != 1 {
		t.Fatalf("export runs: %+v %v", runs, err)
	}
	if runs[0].Status != jobs.Stopped || len(runs[0].PendingDeletes) != n {
		t.Errorf("the stopped export: %s with %d pending delete(s) listed, want %s with %d", runs[0].Status, len(runs[0].PendingDeletes), jobs.Stopped, n)
	}
	deletes, err := pendingChanges(context.Background(), r.st, "delete", "")
	if err != nil || len(deletes) != n {
		t.Errorf("%d pending delete(s) (%v), want %d", len(deletes), err, n)
	}

	if err := r.st.AllowDeletesOnce(context.Background(), n, "test"); err != nil {
		t.Fatal(err)
	}
	r.succeeds(cycle.Params{})
	if got := len(r.users("Guard User")); got != 0 {
		t.Errorf("%d user(s) in the tenant after the allowed deletes, want 0", got)
	}
	if got := len(r.users("Guard Keeper")); got != 1 {
		t.Errorf("the user still in scope: %d in the tenant, want 1", got)
	}
	if g, err := r.st.DeletionGuard(context.Background()); err != nil || g.AllowDeletes != 0 {
		t.Errorf("the allowance is not spent: %+v %v", g, err)
	}
}

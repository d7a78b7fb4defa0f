package setup

import (
	"reflect"
	"strings"
	"testing"
)

func TestLimitations(t *testing.T) {
	tests := []struct {
		name string
		edit func(a *Answers)
		want []string
	}{
		{"defaults: password hash sync as the sign-in method", func(a *Answers) {}, []string{LimitPHS}},
		{"nothing chosen", func(a *Answers) { a.SignIn.Method, a.Features.PasswordHashSync = MethodNone, false }, nil},
		{"pass-through with single sign-on", func(a *Answers) {
			a.SignIn, a.Features.PasswordHashSync = SignIn{Method: MethodPTA, SSO: true}, false
		}, []string{LimitPTA, LimitSSO}},
		{"pass-through with password hash sync as a backup", func(a *Answers) { a.SignIn.Method = MethodPTA }, []string{LimitPHS, LimitPTA}},
		{"single sign-on ticked without a method that has it", func(a *Answers) {
			a.SignIn, a.Features.PasswordHashSync = SignIn{Method: MethodNone, SSO: true}, false
		}, nil},
		{"every feature", func(a *Answers) {
			a.SignIn.Method = MethodADFS
			for _, f := range FeatureList {
				*a.Features.get(f.Field) = true
			}
		}, []string{LimitPHS, LimitPasswordWriteback, LimitExchangeHybrid, LimitPublicFolders, LimitGroupWriteback, LimitDeviceWriteback}},
		{"features with nothing to say", func(a *Answers) {
			a.SignIn.Method, a.Features = MethodNone, Features{AppAttributeFiltering: true, DirectoryExtensions: true}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Defaults()
			tt.edit(&a)
			var got []string
			for _, l := range Limitations(&a) {
				got = append(got, l.ID)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Limitations = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLimitationOf(t *testing.T) {
	ids := []string{"phs", "pta", "sso", "password-writeback", "exchange-hybrid", "exchange-public-folders", "group-writeback", "device-writeback"}
	for _, id := range ids {
		l, ok := LimitationOf(id)
		if !ok {
			t.Errorf("%s: no limitation", id)
			continue
		}
		if l.ID != id || l.Feature == "" || l.Does == "" || l.Cannot == "" || l.Action == "" {
			t.Errorf("%s: incomplete %+v", id, l)
		}
		for _, text := range []string{l.Does, l.Cannot, l.Action} {
			if !strings.HasSuffix(text, ".") {
				t.Errorf("%s: %q is not a sentence", id, text)
			}
		}
		if _, ok := chosen[id]; !ok {
			t.Errorf("%s: Limitations can't tell whether it is chosen", id)
		}
	}
	if len(limitations) != len(ids) {
		t.Errorf("%d limitations, want %d", len(limitations), len(ids))
	}
	if _, ok := LimitationOf("directory-extensions"); ok {
		t.Error("a limitation for an option that does what it says")
	}
	// Each names its option as the wizard shows it.
	labels := map[string]bool{"Enable single sign-on": true}
	for _, m := range Methods {
		labels[m.Label] = true
	}
	for _, f := range FeatureList {
		labels[f.Label] = true
		if id := FeatureLimit(f.Field); id != "" {
			if l, _ := LimitationOf(id); l.Feature != f.Label {
				t.Errorf("%s: limitation %q names %q, the page %q", f.Field, id, l.Feature, f.Label)
			}
		}
	}
	for _, l := range limitations {
		if !labels[l.Feature] {
			t.Errorf("%s: %q is no option's name on the pages", l.ID, l.Feature)
		}
	}
	for method, id := range map[string]string{MethodPHS: LimitPHS, MethodPTA: LimitPTA, MethodADFS: "", MethodNone: ""} {
		if got := MethodLimit(method); got != id {
			t.Errorf("MethodLimit(%s) = %q, want %q", method, got, id)
		}
	}
}

func TestNotesByGroup(t *testing.T) {
	a := Defaults()
	a.SignIn = SignIn{Method: MethodPTA, SSO: true}
	a.Features.PasswordWriteback, a.Features.AppAttributeFiltering = true, true
	a.Directories.Forests = []ForestConn{{Forest: "corp.test", Security: SecurityInsecure}}
	notes := NotesByGroup(&a)

	limits := map[string][]string{}
	for group, g := range notes {
		for _, l := range g.Limits {
			limits[group] = append(limits[group], l.ID)
		}
	}
	want := map[string][]string{GroupSignIn: {LimitPTA, LimitSSO}, GroupFeatures: {LimitPHS, LimitPasswordWriteback}}
	if !reflect.DeepEqual(limits, want) {
		t.Errorf("limitations by group %v, want %v", limits, want)
	}

	// Each notice about a choice under its page's group; a page's advice
	// (the attribute filtering caution, the backup note) stays on its page.
	where := map[string]string{}
	for group, g := range notes {
		for _, n := range g.Notices {
			if _, twice := where[n.Text]; twice {
				t.Errorf("%q twice on Ready", n.Text)
			}
			where[n.Text] = group
			if n.PageOnly || strings.Contains(n.Text, "Removing attributes") || strings.Contains(n.Text, "legacy clients") {
				t.Errorf("a page's advice on Ready: %q", n.Text)
			}
		}
	}
	if where[a.Directories.Forests[0].Forest+" is connected over plain LDAP: passwords and data cross the network unencrypted."] != GroupDirectories {
		t.Errorf("the plain LDAP warning is not under %s: %v", GroupDirectories, where)
	}
	// Every group named is a summary group.
	titles := map[string]bool{}
	for _, g := range Summary(a, "/data") {
		titles[g.Title] = true
	}
	for group := range notes {
		if !titles[group] {
			t.Errorf("notes under %q, which Ready doesn't show", group)
		}
	}
	for id := range summaryGroupOf {
		if _, ok := PageByID(id); !ok {
			t.Errorf("summaryGroupOf names no page %q", id)
		}
	}
	for _, p := range Pages {
		if _, ok := summaryGroupOf[p.ID]; !ok && p.ID != PageExpress {
			t.Errorf("%s: no summary group for its notices", p.ID)
		}
	}
}

package setup

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

func TestSignInValidation(t *testing.T) {
	tests := []struct {
		method string
		sso    bool
		field  string
		msg    string
	}{
		{MethodPHS, false, "", ""},
		{MethodPHS, true, "", ""},
		{MethodPTA, true, "", ""},
		{MethodADFS, false, "", ""},
		{MethodADFS, true, "", ""}, // cleared, with a note (TestSignInADFSClearsSSO)
		{MethodPing, true, "sso", MsgSSOOnlyPHSPTA},
		{MethodNone, true, "sso", MsgSSOOnlyPHSPTA},
		{MethodNone, false, "", ""},
		{"", false, "method", MsgChooseMethod},
		{"kerberos", false, "method", MsgChooseMethod},
	}
	for _, tt := range tests {
		a := Defaults()
		f := form("method", tt.method)
		if tt.sso {
			f.Values.Set("sso", "on")
		}
		signInPage.Bind(&a, f)
		errs := signInPage.Validate(context.Background(), &a, nil)
		if tt.field == "" {
			if len(errs) != 0 {
				t.Errorf("%s sso=%v: unexpected %v", tt.method, tt.sso, errs)
			}
			continue
		}
		if errs[tt.field] != tt.msg {
			t.Errorf("%s sso=%v: %s = %q, want %q", tt.method, tt.sso, tt.field, errs[tt.field], tt.msg)
		}
	}
	// A settings file or an old saved state that holds both is refused.
	if errs := validateSignIn(SignIn{Method: MethodADFS, SSO: true}); errs["sso"] != MsgSSOUnavailableADFS {
		t.Errorf("AD FS with single sign-on, not bound from the page: %v", errs)
	}
	if MsgSSOUnavailableADFS != "For AD FS customers, this option is unavailable. AD FS already offers the same level of single sign-on." {
		t.Error("the AD FS message no longer matches the seed word for word")
	}
}

func TestSignInBindForcesPHSFeature(t *testing.T) {
	a := Defaults()
	a.Features.PasswordHashSync = false
	signInPage.Bind(&a, form("method", MethodPHS))
	if !a.Features.PasswordHashSync {
		t.Error("choosing password hash sync as the method did not select the feature")
	}
	a.Features.PasswordHashSync = false
	signInPage.Bind(&a, form("method", MethodPTA))
	if a.Features.PasswordHashSync {
		t.Error("pass-through selected password hash sync")
	}
}

// With AD FS, Enable single sign-on is cleared with a note, not refused.
func TestSignInADFSClearsSSO(t *testing.T) {
	a := Defaults()
	signInPage.Bind(&a, form("method", MethodADFS, "sso", "on"))
	if a.SignIn.SSO || !a.SignIn.SSOCleared {
		t.Fatalf("AD FS with single sign-on: %+v", a.SignIn)
	}
	if errs := signInPage.Validate(context.Background(), &a, nil); len(errs) != 0 {
		t.Errorf("AD FS with single sign-on refused: %v", errs)
	}
	if n := signInPage.Notices(&a); len(n) != 1 || n[0].Text != MsgSSOCleared || n[0].About != "sso" {
		t.Errorf("notices %+v, want the note at single sign-on", n)
	}
	// Without the box ticked, or with another method, there is nothing to say.
	for _, f := range []Form{form("method", MethodADFS), form("method", MethodPTA, "sso", "on")} {
		a := Defaults()
		signInPage.Bind(&a, f)
		if a.SignIn.SSOCleared || len(signInPage.Notices(&a)) != 0 {
			t.Errorf("%v: %+v, notices %v", f.Values, a.SignIn, signInPage.Notices(&a))
		}
	}
}

func TestFeaturesValidation(t *testing.T) {
	writeback := []string{"exchange_hybrid", "password_writeback", "group_writeback", "device_writeback"}
	others := []string{"exchange_public_folders", "app_attribute_filtering", "password_hash_sync", "directory_extensions"}
	type tc struct {
		name    string
		method  string
		fields  []string
		wantErr []string // fields with errors (besides "")
	}
	var tests []tc
	for _, w := range writeback {
		tests = append(tests, tc{"legacy + " + w, MethodPTA, []string{"legacy_sync_active", w}, []string{w}})
		tests = append(tests, tc{w + " alone", MethodPTA, []string{w}, nil})
	}
	for _, o := range others {
		tests = append(tests, tc{"legacy + " + o, MethodPTA, []string{"legacy_sync_active", o}, nil})
	}
	tests = append(tests,
		tc{"legacy + two writebacks", MethodNone, []string{"legacy_sync_active", "password_writeback", "device_writeback"}, []string{"password_writeback", "device_writeback"}},
		tc{"legacy alone", MethodNone, []string{"legacy_sync_active"}, nil},
		tc{"PHS sign-in, PHS cleared", MethodPHS, nil, nil}, // forced back on by Bind
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Defaults()
			a.SignIn.Method = tt.method
			var kv []string
			for _, f := range tt.fields {
				kv = append(kv, f, "on")
			}
			featuresPage.Bind(&a, form(kv...))
			errs := featuresPage.Validate(context.Background(), &a, nil)
			var got []string
			for _, f := range errs.Fields() {
				got = append(got, f)
				if errs[f] != MsgLegacyChosen {
					t.Errorf("%s: %q", f, errs[f])
				}
			}
			want := append([]string(nil), tt.wantErr...)
			sortStrings(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("error fields %v, want %v (the seed's warning stands once, at its box: no page error repeats it)", got, want)
			}
		})
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestFeaturesPHSRequired(t *testing.T) {
	a := Defaults()
	a.SignIn.Method = MethodPHS
	featuresPage.Bind(&a, form())
	if !a.Features.PasswordHashSync {
		t.Fatal("with PHS sign-in, binding a form without it cleared password hash sync")
	}
	// An import or an old saved state may still carry it off.
	a.Features.PasswordHashSync = false
	if errs := validateFeatures(&a); errs["password_hash_sync"] != MsgPHSRequired {
		t.Fatalf("errors %v", errs)
	}
}

func TestFeaturesRequiresAndNotices(t *testing.T) {
	a := Defaults()
	featuresPage.Bind(&a, form("group_writeback", "on"))
	if !reflect.DeepEqual(a.Features.Requires, []string{RequireExchangeSchema}) {
		t.Fatalf("Requires = %v", a.Features.Requires)
	}
	featuresPage.Bind(&a, form())
	if a.Features.Requires != nil {
		t.Fatalf("Requires kept after clearing group writeback: %v", a.Features.Requires)
	}

	tests := []struct {
		method string
		phs    bool
		want   string // a notice that must be there ("" = none about PHS)
	}{
		{MethodADFS, true, "backup option"},
		{MethodPing, true, "backup option"},
		{MethodPTA, true, "legacy clients"},
		{MethodADFS, false, ""},
		{MethodPTA, false, ""},
		{MethodPHS, true, ""},
		{MethodNone, true, ""},
	}
	for _, tt := range tests {
		a := Answers{SignIn: SignIn{Method: tt.method}, Features: Features{PasswordHashSync: tt.phs}}
		var texts []string
		for _, n := range featureNotices(&a) {
			texts = append(texts, n.Text)
		}
		all := strings.Join(texts, "|")
		hasBackup := strings.Contains(all, "backup")
		if tt.want == "" && hasBackup || tt.want != "" && !strings.Contains(all, tt.want) {
			t.Errorf("%s phs=%v: notices %q, want %q", tt.method, tt.phs, texts, tt.want)
		}
	}

	noticeTests := []struct {
		f    Features
		want string
	}{
		{Features{GroupWriteback: true}, "Exchange"},
		{Features{ExchangePublicFolders: true}, "public folders"},
		{Features{PasswordWriteback: true}, "1.0.8641.0"},
		{Features{AppAttributeFiltering: true}, "Removing attributes"},
	}
	for _, tt := range noticeTests {
		n := featureNotices(&Answers{Features: tt.f})
		if len(n) != 1 || !strings.Contains(n[0].Text, tt.want) {
			t.Errorf("%+v: notices %v, want one with %q", tt.f, n, tt.want)
		}
	}
	// Azure AD Sync or DirSync active: the seed's warning is its box's
	// description, not a notice as well.
	if n := featureNotices(&Answers{Features: Features{LegacySyncActive: true, PasswordWriteback: true}}); len(n) != 1 || strings.Contains(n[0].Text, "DirSync") {
		t.Errorf("notices with Azure AD Sync or DirSync active: %v", n)
	}
}

func TestFeatureListComplete(t *testing.T) {
	if len(FeatureList) != 8 {
		t.Fatalf("%d features, the seed has 8", len(FeatureList))
	}
	for _, ft := range FeatureList {
		var f Features
		*f.get(ft.Field) = true
		if !f.On(ft.Field) {
			t.Errorf("%s does not round-trip", ft.Field)
		}
		for _, other := range FeatureList {
			if other.Field != ft.Field && f.On(other.Field) {
				t.Errorf("%s and %s share a field", ft.Field, other.Field)
			}
		}
	}
}

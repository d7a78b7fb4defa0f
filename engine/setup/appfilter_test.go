package setup

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func appFilterAnswers() Answers {
	a := Defaults()
	a.Features.AppAttributeFiltering = true
	return a
}

func TestEntraAppsBindAndValidate(t *testing.T) {
	tests := []struct {
		name        string
		form        Form
		want        []string
		wantUnknown []string
		wantErr     string // substring of the "apps" error; "" for none
	}{
		{"one app", form(AppField(AppExchange), "on"), []string{AppExchange}, nil, ""},
		{"page order, not form order", form(AppField(AppThirdParty), "on", AppField(AppOfficeProPlus), "on"),
			[]string{AppOfficeProPlus, AppThirdParty}, nil, ""},
		{"every app", func() Form {
			var kv []string
			for _, app := range EntraAppList {
				kv = append(kv, AppField(app.ID), "on")
			}
			return form(kv...)
		}(), allApps(), nil, ""},
		{"none", form("csrf_token", "x"), nil, nil, MsgNoApp},
		{"unchecked value", form(AppField(AppIntune), ""), nil, nil, MsgNoApp},
		{"unknown app", form(AppField(AppIntune), "on", AppField("yammer"), "on"), []string{AppIntune}, []string{"yammer"}, "no such app: yammer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := appFilterAnswers()
			appFilteringPage.Bind(&a, tt.form)
			if !slices.Equal(a.EntraApps.Selected, tt.want) || !slices.Equal(a.EntraApps.Unknown, tt.wantUnknown) {
				t.Errorf("selected %v unknown %v, want %v %v", a.EntraApps.Selected, a.EntraApps.Unknown, tt.want, tt.wantUnknown)
			}
			e := appFilteringPage.Validate(context.Background(), &a, nil)
			if got := e["apps"]; (tt.wantErr == "") != (got == "") || !strings.Contains(got, tt.wantErr) {
				t.Errorf("error %q, want %q", got, tt.wantErr)
			}
			if len(e) > 1 {
				t.Errorf("errors on other fields: %v", e)
			}
		})
	}
}

func TestEntraAppsDefaultsAndJSON(t *testing.T) {
	a := Defaults()
	if !slices.Equal(a.EntraApps.Selected, allApps()) {
		t.Fatalf("a fresh wizard selects %v", a.EntraApps.Selected)
	}
	// A cleared selection survives a save and a load (it does not fall back
	// to the defaults); Validate then asks for an app.
	a.Features.AppAttributeFiltering = true
	appFilteringPage.Bind(&a, form())
	raw, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	b := Defaults()
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	if len(b.EntraApps.Selected) != 0 {
		t.Errorf("after a load: %v", b.EntraApps.Selected)
	}
	if e := validateEntraApps(&b); e["apps"] != MsgNoApp {
		t.Errorf("errors %v", e)
	}
	// Answers saved before the pages existed load with every app.
	c := Defaults()
	if err := json.Unmarshal([]byte(`{"features":{"appAttributeFiltering":true}}`), &c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.EntraApps.Selected, allApps()) {
		t.Errorf("old answers load with %v", c.EntraApps.Selected)
	}
}

func TestEntraAppsNotice(t *testing.T) {
	a := appFilterAnswers()
	if n := appFilteringPage.Notices(&a); len(n) != 1 || n[0].Text != MsgAppsRerun {
		t.Errorf("notices %v", n)
	}
}

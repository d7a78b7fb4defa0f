package setup

import (
	"reflect"
	"testing"
)

// seedOrder is the order of the seed's wizard (the spec), every page present.
var seedOrder = []string{
	PageExpress, PageComponents, PageSignIn, PageConnectEntra,
	PageDirectories, PageSignInConfig, PageOUFiltering, PageIdentifying, PageGroupFiltering, PageFeatures,
	PageAppFiltering, PageAttributeFiltering, PageExtensions,
	// Entra Connect adds its writeback pages after the optional features'
	// own pages; hybridsync gathers them on one.
	PageWriteback,
	PageSSO,
	PageADFSFarm, PageADFSServers, PageADFSProxies, PageADFSAccount, PageADFSDomain,
	PagePingDomain, PagePingSettings, PagePingConnectivity, PagePingLogin,
	PageReady,
}

func TestPagesOrder(t *testing.T) {
	var ids []string
	seen := map[string]bool{}
	for _, p := range Pages {
		ids = append(ids, p.ID)
		if seen[p.ID] {
			t.Errorf("page %s twice", p.ID)
		}
		seen[p.ID] = true
		if p.Title == "" || p.Section == "" {
			t.Errorf("page %s lacks a title or section", p.ID)
		}
		if p.Bind == nil || p.Validate == nil {
			t.Errorf("page %s: every page binds its form and has its rules", p.ID)
		}
		if got, ok := PageByID(p.ID); !ok || got.ID != p.ID {
			t.Errorf("PageByID(%s) failed", p.ID)
		}
	}
	if !reflect.DeepEqual(ids, seedOrder) {
		t.Errorf("pages\n %v\nwant\n %v", ids, seedOrder)
	}
	if _, ok := PageByID("nope"); ok {
		t.Error("PageByID found a page that does not exist")
	}
}

func TestPageConditions(t *testing.T) {
	always := []string{PageExpress, PageComponents, PageSignIn, PageConnectEntra, PageDirectories, PageSignInConfig,
		PageOUFiltering, PageIdentifying, PageGroupFiltering, PageFeatures, PageReady}
	adfs := []string{PageADFSFarm, PageADFSServers, PageADFSProxies, PageADFSAccount, PageADFSDomain}
	ping := []string{PagePingDomain, PagePingSettings, PagePingConnectivity, PagePingLogin}
	tests := []struct {
		name  string
		set   func(a *Answers)
		shown []string // besides always
	}{
		{"defaults (PHS)", func(a *Answers) {}, nil},
		{"PHS + SSO", func(a *Answers) { a.SignIn.SSO = true }, []string{PageSSO}},
		{"PTA + SSO", func(a *Answers) { a.SignIn = SignIn{Method: MethodPTA, SSO: true} }, []string{PageSSO}},
		{"PTA", func(a *Answers) { a.SignIn = SignIn{Method: MethodPTA} }, nil},
		{"group writeback", func(a *Answers) { a.Features.GroupWriteback = true }, []string{PageWriteback}},
		{"device writeback", func(a *Answers) { a.Features.DeviceWriteback = true }, []string{PageWriteback}},
		{"password writeback only", func(a *Answers) { a.Features.PasswordWriteback = true }, nil},
		{"AD FS", func(a *Answers) { a.SignIn = SignIn{Method: MethodADFS} }, adfs},
		{"AD FS + SSO (refused, never shown)", func(a *Answers) { a.SignIn = SignIn{Method: MethodADFS, SSO: true} }, adfs},
		{"PingFederate", func(a *Answers) { a.SignIn = SignIn{Method: MethodPing} }, ping},
		{"PingFederate + SSO", func(a *Answers) { a.SignIn = SignIn{Method: MethodPing, SSO: true} }, ping},
		{"do not configure + SSO", func(a *Answers) { a.SignIn = SignIn{Method: MethodNone, SSO: true} }, nil},
		{"app and attribute filtering", func(a *Answers) { a.Features.AppAttributeFiltering = true }, []string{PageAppFiltering, PageAttributeFiltering}},
		{"directory extensions", func(a *Answers) { a.Features.DirectoryExtensions = true }, []string{PageExtensions}},
		{"everything", func(a *Answers) {
			a.SignIn = SignIn{Method: MethodPTA, SSO: true}
			a.Features.AppAttributeFiltering, a.Features.DirectoryExtensions = true, true
		}, []string{PageAppFiltering, PageAttributeFiltering, PageExtensions, PageSSO}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Defaults()
			tt.set(&a)
			want := map[string]bool{}
			for _, id := range append(append([]string{}, always...), tt.shown...) {
				want[id] = true
			}
			var wantOrdered, got []string
			for _, id := range seedOrder {
				if want[id] {
					wantOrdered = append(wantOrdered, id)
				}
				if IsVisible(&a, id) != want[id] {
					t.Errorf("IsVisible(%s) = %v", id, !want[id])
				}
			}
			for _, p := range Visible(&a) {
				got = append(got, p.ID)
			}
			if !reflect.DeepEqual(got, wantOrdered) {
				t.Errorf("Visible\n %v\nwant\n %v", got, wantOrdered)
			}
			// Neighbours walk the visible pages in order, both ways.
			for i, id := range got {
				prev, next := Neighbours(&a, id)
				wantPrev, wantNext := "", ""
				if i > 0 {
					wantPrev = got[i-1]
				}
				if i+1 < len(got) {
					wantNext = got[i+1]
				}
				if prev != wantPrev || next != wantNext {
					t.Errorf("Neighbours(%s) = %q, %q; want %q, %q", id, prev, next, wantPrev, wantNext)
				}
			}
		})
	}
	a := Defaults()
	if prev, next := Neighbours(&a, PageADFSFarm); prev != "" || next != "" {
		t.Errorf("Neighbours of a hidden page = %q, %q", prev, next)
	}
}

package fedserver

import (
	"context"
	"errors"
	"testing"
)

func TestImmutableID(t *testing.T) {
	guid := []byte("0123456789abcdef")
	consistency := []byte("fedcba9876543210")
	cases := []struct {
		anchor               string
		objectGUID, msdsGUID []byte
		want                 string
		wantErr              bool
	}{
		{"", guid, consistency, "MDEyMzQ1Njc4OWFiY2RlZg==", false},
		{"objectGUID", guid, consistency, "MDEyMzQ1Njc4OWFiY2RlZg==", false},
		{"mS-DS-ConsistencyGuid", guid, consistency, "ZmVkY2JhOTg3NjU0MzIxMA==", false},
		{"mS-DS-ConsistencyGuid", guid, nil, "MDEyMzQ1Njc4OWFiY2RlZg==", false}, // falls back to objectGUID
		{"objectGUID", guid[:8], nil, "", true},
		{"employeeID", guid, nil, "", true},
	}
	for _, tc := range cases {
		got, err := ImmutableID(tc.anchor, tc.objectGUID, tc.msdsGUID)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ImmutableID(%q, %x, %x) = %q, %v; want %q (error %v)", tc.anchor, tc.objectGUID, tc.msdsGUID, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestLDAPAuthenticatorRefusesBeforeDialing(t *testing.T) {
	cases := []struct {
		name     string
		a        LDAPAuthenticator
		password string
		want     error
	}{
		{"empty password (an anonymous bind)", LDAPAuthenticator{URL: "ldaps://127.0.0.1:1"}, "", ErrBadCredentials},
		{"plain LDAP", LDAPAuthenticator{URL: "ldap://127.0.0.1:389"}, "x", nil},
		{"not loopback", LDAPAuthenticator{URL: "ldaps://192.0.2.1:636"}, "x", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.a.Authenticate(context.Background(), "u@corp.example.test", tc.password)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no role", Config{RelyingParty: testRP, Authenticate: fakeAuth}},
		{"http relying party", Config{ADFSName: "sts", RelyingParty: "http://127.0.0.1/login.srf", Authenticate: fakeAuth}},
		{"unknown anchor", Config{ADFSName: "sts", RelyingParty: testRP, Authenticate: fakeAuth, SourceAnchor: "employeeID"}},
		{"no forest", Config{ADFSName: "sts", RelyingParty: testRP}},
	}
	for _, tc := range cases {
		if _, err := New(tc.cfg); err == nil {
			t.Errorf("%s: New accepted it", tc.name)
		}
	}
}

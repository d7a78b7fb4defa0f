package fedserver

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// TestForestSignIn signs a seeded user in through the server with the
// password set on it in the forest: the ImmutableID is base64(objectGUID);
// a wrong password is refused.
func TestForestSignIn(t *testing.T) {
	corp, _ := live.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	layout := forest.LayoutOf(corp)
	const user = 3 // enabled, UPN in the forest's own domain
	upn, dn := layout.UserUPN(user), layout.UserDN(user)
	const password = "Fed-Server-Pa55word!"

	admin, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace("unicodePwd", []string{unicodePwd(password)})
	if err := admin.Modify(mod); err != nil {
		t.Fatalf("setting the password of %s: %v", dn, err)
	}
	res, err := admin.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 30, false,
		"(objectClass=user)", []string{"objectGUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("reading %s: %v", dn, err)
	}
	guid := res.Entries[0].GetRawAttributeValue("objectGUID")
	wantID := base64.StdEncoding.EncodeToString(guid)

	for _, anchor := range []string{AnchorObjectGUID, AnchorConsistencyGUID} { // the user has no mS-DS-ConsistencyGuid
		t.Run(anchor, func(t *testing.T) {
			ts := newTestServer(t, Config{
				ADFSName: "sts.corp.example.test",
				Authenticate: LDAPAuthenticator{URL: corp.LDAPSURL(), BaseDN: corp.BaseDN, SourceAnchor: anchor,
					TLS: mustTLS(t, corp)}.Authenticate,
			})
			q := url.Values{"wa": {"wsignin1.0"}, "wtrealm": {MicrosoftOnline}, "wctx": {"ctx"}}
			p := ts.do(t, http.MethodGet, "/adfs/ls/?"+q.Encode(), nil)

			wrong := ts.signIn(t, p, upn, "wrong-password")
			if got := wrong.doc.Find(`[data-testid="fed-error"]`).Text(); got != ADFSBadCredentials {
				t.Fatalf("wrong password: %q (%d)", got, wrong.status)
			}
			ok := ts.signIn(t, wrong, upn, password)
			_, fields := formOf(t, ok)
			rstr := parseXML(t, fields.Get("wresult"))
			a := rstr.FindElement("./RequestedSecurityToken/Assertion")
			if a == nil {
				t.Fatalf("no token: %s", ok.body)
			}
			signed, err := verify(t, ts.SigningCertificate(), detach(a), "AssertionID")
			if err != nil {
				t.Fatal(err)
			}
			if got := signed.FindElement("./AttributeStatement/Subject/NameIdentifier").Text(); got != wantID {
				t.Errorf("ImmutableID %q, want base64(objectGUID) %q", got, wantID)
			}
			if got := signed.FindElement("./AttributeStatement/Attribute[@AttributeName='UPN']/AttributeValue").Text(); got != upn {
				t.Errorf("UPN %q, want %q", got, upn)
			}
		})
	}
}

// The default authenticator New builds from the configuration reaches the
// forest too (TLS verified against the forest's CA, ServerName its IP).
func TestForestDefaultAuthenticator(t *testing.T) {
	corp, _ := live.Need(t)
	pem, err := os.ReadFile(corp.CACertPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	s, err := New(Config{PingHost: "pf.corp.example.test:9031", RelyingParty: testRP,
		LDAPURL: corp.LDAPSURL(), BaseDN: corp.BaseDN, LDAPRootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	upn := forest.LayoutOf(corp).SvcSyncUPN
	id, err := s.auth(ctx, upn, forest.SvcSyncPassword)
	if err != nil || id.UPN != upn || len(id.ImmutableID) != 24 {
		t.Fatalf("%s: %+v, %v", upn, id, err)
	}
	if _, err := s.auth(ctx, upn, "not-the-password"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("wrong password: %v", err)
	}
}

func mustTLS(t *testing.T, f *forest.Forest) *tls.Config {
	t.Helper()
	c, err := f.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// unicodePwd is a password as AD wants it: quoted, UTF-16LE.
func unicodePwd(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		binary.LittleEndian.PutUint16(b[2*i:], r)
	}
	return string(b)
}

package cycle_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// The live tests run whole cycles against the two seeded forests of
// e2e/forest, brought up here on loopback addresses of their own (127.0.0.52
// and 127.0.0.53) so that this package runs beside other packages' forests,
// and against a tenant emulator per test. Every run restores a fresh copy of
// the cached forests; each test creates the objects it needs in OUs of its
// own and scopes its cycles to them, so the tests may run in parallel.
var live forest.Pair

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(forest.RunWithPair(m, &live, "engine-cycle", "127.0.0.52", "127.0.0.53", func(ctx context.Context, fs []*forest.Forest, _ string) error {
		for _, f := range fs {
			if err := extendSchema(ctx, f); err != nil {
				return fmt.Errorf("extend the schema of %s: %w", f.Name, err)
			}
		}
		return nil
	}))
}

// forests returns corp and fabrikam, or skips (fails with
// HYBRIDSYNC_FORESTS_REQUIRED=1) when they could not be started.
func forests(t testing.TB) (*forest.Forest, *forest.Forest) { return live.Need(t) }

// extendSchema adds the two Exchange attributes two matching rules join on,
// mailNickname and msExchMasterAccountSID, to the user class, as installing
// Exchange does (Samba's schema is Windows' without Exchange). The
// definitions are Exchange's (ms-Exch-Mail-Nickname, ms-Exch-Master-Account-Sid);
// their schemaIDGUIDs are left to the DC.
func extendSchema(ctx context.Context, f *forest.Forest) error {
	conn, err := f.Dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	schema := "CN=Schema,CN=Configuration," + f.BaseDN
	attrs := []struct{ cn, name, oid, syntax, omSyntax string }{
		{"ms-Exch-Mail-Nickname", "mailNickname", "1.2.840.113556.1.2.447", "2.5.5.12", "64"},
		{"ms-Exch-Master-Account-Sid", "msExchMasterAccountSid", "1.2.840.113556.1.4.7000.102.50", "2.5.5.17", "4"},
	}
	for _, a := range attrs {
		add := ldap.NewAddRequest("CN="+a.cn+","+schema, nil)
		add.Attribute("objectClass", []string{"top", "attributeSchema"})
		add.Attribute("cn", []string{a.cn})
		add.Attribute("lDAPDisplayName", []string{a.name})
		add.Attribute("attributeID", []string{a.oid})
		add.Attribute("attributeSyntax", []string{a.syntax})
		add.Attribute("oMSyntax", []string{a.omSyntax})
		add.Attribute("isSingleValued", []string{"TRUE"})
		if err := conn.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return fmt.Errorf("add %s: %w", a.name, err)
		}
	}
	if err := schemaUpdateNow(conn); err != nil {
		return err
	}
	m := ldap.NewModifyRequest("CN=User,"+schema, nil)
	m.Add("mayContain", []string{"mailNickname", "msExchMasterAccountSid"})
	if err := conn.Modify(m); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultAttributeOrValueExists) {
		return fmt.Errorf("add them to the user class: %w", err)
	}
	return schemaUpdateNow(conn)
}

func schemaUpdateNow(conn *ldap.Conn) error {
	m := ldap.NewModifyRequest("", nil)
	m.Replace("schemaUpdateNow", []string{"1"})
	if err := conn.Modify(m); err != nil {
		return fmt.Errorf("schemaUpdateNow: %w", err)
	}
	return nil
}

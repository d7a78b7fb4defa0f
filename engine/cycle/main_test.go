package cycle_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// The live tests run whole cycles against the two seeded forests of
// e2e/forest, brought up here on loopback addresses of their own (127.0.0.52
// and 127.0.0.53) so that this package runs beside other packages' forests,
// and against a tenant emulator per test. Every run restores a fresh copy of
// the cached forests; each test creates the objects it needs in OUs of its
// own and scopes its cycles to them, so the tests may run in parallel.
var live struct {
	corp, fabrikam *forest.Forest
	err            error
}

func testSpecs() []forest.Spec {
	corp, fab := forest.Corp, forest.Fabrikam
	corp.IP, fab.IP = "127.0.0.52", "127.0.0.53"
	return []forest.Spec{corp, fab}
}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if testing.Short() {
		live.err = errors.New("-short: live forest tests skipped")
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := forest.Install(ctx); err != nil {
		live.err = fmt.Errorf("samba unavailable: %w", err)
		return m.Run()
	}
	base, err := os.MkdirTemp("", "hybridsync-cycle-")
	if err != nil {
		live.err = err
		return m.Run()
	}
	defer os.RemoveAll(base)
	cache, err := forest.DefaultCacheDir()
	if err != nil {
		live.err = err
		return m.Run()
	}
	start := time.Now()
	fs, err := forest.UpAll(ctx, testSpecs(), base, forest.Options{CacheDir: filepath.Join(cache, "engine-cycle"), Logf: log.Printf})
	if err != nil {
		live.err = fmt.Errorf("forests did not come up: %w", err)
		return m.Run()
	}
	defer func() {
		if err := forest.StopAll(fs); err != nil {
			log.Printf("stopping forests: %v", err)
		}
	}()
	for _, f := range fs {
		if err := extendSchema(ctx, f); err != nil {
			live.err = fmt.Errorf("extend the schema of %s: %w", f.Name, err)
			return m.Run()
		}
	}
	log.Printf("forests up in %s", time.Since(start).Round(10*time.Millisecond))
	live.corp, live.fabrikam = fs[0], fs[1]
	return m.Run()
}

// forests returns corp and fabrikam, or skips (fails with
// HYBRIDSYNC_FORESTS_REQUIRED=1) when they could not be started.
func forests(t testing.TB) (*forest.Forest, *forest.Forest) {
	t.Helper()
	if live.err != nil {
		if os.Getenv("HYBRIDSYNC_FORESTS_REQUIRED") == "1" {
			t.Fatalf("live forests required: %v", live.err)
		}
		t.Skipf("live forests unavailable: %v", live.err)
	}
	return live.corp, live.fabrikam
}

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

package setup

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/store"
)

// makeDB creates a migrated LocalDB in dir, holding a configuration of installID
// unless it is "".
func makeDB(t *testing.T, dir, installID string) string {
	t.Helper()
	ctx := context.Background()
	path := store.SQLitePath(dir)
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: path})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if installID != "" {
		if _, err := st.SaveActiveConfiguration(ctx, store.Configuration{InstallID: installID, Answers: []byte(`{}`), AppliedBy: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestStoreCheckerLocation(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		setup        func(t *testing.T, root string) (dir string, own string)
		sqlElsewhere bool
		want         string // "" ok; else a substring of the message, exact for MsgDatabaseHoldsData
	}{
		{"writable folder", func(t *testing.T, root string) (string, string) { return root, "" }, false, ""},
		{"a file, not a folder", func(t *testing.T, root string) (string, string) {
			p := filepath.Join(root, "f")
			os.WriteFile(p, []byte("x"), 0o600)
			return p, ""
		}, false, "is a file, not a folder."},
		{"missing folder under a writable parent", func(t *testing.T, root string) (string, string) {
			return filepath.Join(root, "a", "b", "c"), ""
		}, false, ""},
		{"missing folder under a file", func(t *testing.T, root string) (string, string) {
			p := filepath.Join(root, "f")
			os.WriteFile(p, []byte("x"), 0o600)
			return filepath.Join(p, "sub", "dir"), ""
		}, false, "is a file, so"},
		{"empty folder with an empty database", func(t *testing.T, root string) (string, string) {
			st, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(root)})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			return root, ""
		}, false, ""},
		{"database of this install", func(t *testing.T, root string) (string, string) {
			makeDB(t, root, "me")
			return root, ""
		}, false, ""},
		{"migrated database without a configuration", func(t *testing.T, root string) (string, string) {
			makeDB(t, root, "")
			return root, ""
		}, false, ""},
		{"database of another install", func(t *testing.T, root string) (string, string) {
			makeDB(t, root, "someone-else")
			return root, ""
		}, false, MsgDatabaseHoldsData},
		{"another install's database, but SQL Server holds the data", func(t *testing.T, root string) (string, string) {
			makeDB(t, root, "someone-else")
			return root, ""
		}, true, ""},
		{"the console's own database", func(t *testing.T, root string) (string, string) {
			own := makeDB(t, root, "someone-else")
			return root + "/./", own
		}, false, ""},
		{"the console's own database through a symlink", func(t *testing.T, root string) (string, string) {
			real := filepath.Join(root, "real")
			os.Mkdir(real, 0o700)
			own := makeDB(t, real, "someone-else")
			link := filepath.Join(root, "link")
			if err := os.Symlink(real, link); err != nil {
				t.Skip(err)
			}
			return link, own
		}, false, ""},
		{"another application's SQLite file", func(t *testing.T, root string) (string, string) {
			writeForeign(t, store.SQLitePath(root))
			return root, ""
		}, false, "exists but is not a hybridsync database"},
		{"a file that is not a database", func(t *testing.T, root string) (string, string) {
			os.WriteFile(store.SQLitePath(root), bytes.Repeat([]byte("not sqlite "), 1000), 0o600)
			return root, ""
		}, false, "hybridsync.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir, own := tt.setup(t, root)
			before := tree(t, root)
			chk := &StoreChecker{InstallID: "me", OwnDB: own, Timeout: 5 * time.Second}
			err := chk.CheckLocation(ctx, dir, tt.sqlElsewhere)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("CheckLocation = %v", err)
			case tt.want == "":
			case err == nil:
				t.Fatalf("CheckLocation accepted it; want %q", tt.want)
			default:
				var ce *CheckError
				if !errors.As(err, &ce) {
					t.Fatalf("not a CheckError: %T %v", err, err)
				}
				if tt.want == MsgDatabaseHoldsData {
					if ce.Msg != MsgDatabaseHoldsData || !errors.Is(err, ErrHoldsData) {
						t.Fatalf("message %q, want exactly %q", ce.Msg, MsgDatabaseHoldsData)
					}
				} else if !strings.Contains(ce.Msg, tt.want) {
					t.Fatalf("message %q, want %q", ce.Msg, tt.want)
				}
				if strings.Contains(ce.Msg, "store:") {
					t.Errorf("the admin sees an internal error: %q", ce.Msg)
				}
			}
			if after := tree(t, root); !reflect.DeepEqual(before, after) {
				t.Errorf("the check changed the folder:\n before %v\n after  %v", names(before), names(after))
			}
		})
	}
}

// writeForeign makes path a SQLite database of some other application.
func writeForeign(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}

func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		out[p] = string(b)
		return nil
	})
	return out
}

func names(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, filepath.Base(k))
	}
	return out
}

func TestCheckSQLServerFailsCleanly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now
	box, err := secret.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := box.Seal("pw")
	tests := []struct {
		name string
		perm string
		box  *secret.Box
		want string
	}{
		{"SA", PermissionSA, box, "Nothing accepts connections for SQL Server on 127.0.0.1"},
		{"DBO", PermissionDBO, box, "With DBO permissions, your SQL administrator must create the database"},
		{"saved password without a key", PermissionSA, nil, "The saved SQL password can't be read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Components{UseSQLServer: true, SQLServer: "127.0.0.1", SQLInstance: ",PORT", SQLDatabase: "HybridSync",
				SQLPermission: tt.perm, SQLLogin: "sa", SQLPassword: sealed}
			c.SQLInstance = "," + itoa(port)
			chk := &StoreChecker{InstallID: "me", Box: tt.box, Timeout: 3 * time.Second}
			start := time.Now()
			err := chk.CheckSQLServer(context.Background(), c)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			var ce *CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("CheckSQLServer = %T %v, want a *CheckError", err, err)
			}
			if !strings.Contains(ce.Msg, tt.want) {
				t.Errorf("message %q, want %q", ce.Msg, tt.want)
			}
		})
	}

	// Through the components page, the failure lands on the server field.
	a := Defaults()
	componentsPage.Bind(&a, form(sqlForm("sql_server", "127.0.0.1", "sql_instance", ","+itoa(port))...))
	errs := componentsPage.Validate(context.Background(), &a, &StoreChecker{Timeout: 3 * time.Second})
	if !strings.Contains(errs["sql_server"], "Nothing accepts connections for SQL Server") {
		t.Errorf("components page errors: %v", errs)
	}
}

func itoa(n int) string {
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestSQLServerDSN(t *testing.T) {
	tests := []struct {
		name     string
		server   string
		instance string
		trust    bool
		host     string
		path     string
	}{
		{"default instance", "sql01.contoso.com", "", false, "sql01.contoso.com", ""},
		{"named instance", "sql01", "SQLEXPRESS", false, "sql01", "/SQLEXPRESS"},
		{"instance and port: the port wins", "sql01", "SQLEXPRESS,1533", false, "sql01:1533", ""},
		{"port only", "sql01", ",1533", true, "sql01:1533", ""},
		{"ipv6 with port", "::1", ",1533", false, "[::1]:1533", ""},
		{"ipv6 bracketed with port", "[::1]", ",1533", false, "[::1]:1533", ""},
		{"ipv6 without port", "fe80::1", "", false, "[fe80::1]", ""},
		{"ipv6 bracketed without port", "[fe80::1]", "SQLEXPRESS", false, "[fe80::1]", "/SQLEXPRESS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Components{SQLServer: tt.server, SQLInstance: tt.instance, SQLLogin: "hs login", SQLTrustCert: tt.trust}
			pw := `p@ss:w/rd?#%&`
			raw := c.SQLServerDSN(pw, "HybridSync")
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			if u.Scheme != "sqlserver" || u.Host != tt.host || u.Path != tt.path {
				t.Errorf("%s: scheme %q host %q path %q; want host %q path %q", raw, u.Scheme, u.Host, u.Path, tt.host, tt.path)
			}
			if got, _ := u.User.Password(); u.User.Username() != "hs login" || got != pw {
				t.Errorf("credentials %q / %q did not survive", u.User.Username(), got)
			}
			q := u.Query()
			want := url.Values{"database": {"HybridSync"}, "app name": {"hybridsync"}, "dial timeout": {"10"}, "encrypt": {"true"}}
			if tt.trust {
				want.Set("TrustServerCertificate", "true")
			}
			if !reflect.DeepEqual(q, want) {
				t.Errorf("query %v, want %v", q, want)
			}
		})
	}
}

func TestSQLPasswordPlain(t *testing.T) {
	box, _ := secret.New(bytes.Repeat([]byte{1}, 32))
	sealed, _ := box.Seal("saved")
	c := Components{SQLPassword: sealed}
	if pw, err := c.SQLPasswordPlain(box); err != nil || pw != "saved" {
		t.Errorf("saved: %q, %v", pw, err)
	}
	c.newSQLPassword = "typed"
	if pw, err := c.SQLPasswordPlain(nil); err != nil || pw != "typed" {
		t.Errorf("typed wins: %q, %v", pw, err)
	}
	other, _ := secret.New(bytes.Repeat([]byte{2}, 32))
	c.newSQLPassword = ""
	if _, err := c.SQLPasswordPlain(other); err == nil {
		t.Error("another key opened the password")
	}
	if _, err := c.SQLPasswordPlain(nil); err == nil {
		t.Error("no key opened the password")
	}
}

func TestCheckMessage(t *testing.T) {
	if got := CheckMessage(&CheckError{Msg: "m", Err: errors.New("inner")}); got != "m" {
		t.Errorf("%q", got)
	}
	// An error not worded for the admin is never shown raw.
	if got := CheckMessage(errors.New("raw driver text")); strings.Contains(got, "raw driver text") || got == "" {
		t.Errorf("%q", got)
	}
}

// timeoutErr is a net.Error that timed out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestSQLConnectMessage(t *testing.T) {
	c := Components{SQLServer: "sql01", SQLLogin: "hs", SQLDatabase: "HybridSync"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unknown name", &net.DNSError{Err: "no such host", Name: "sql01", IsNotFound: true}, "can't be resolved"},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, "Nothing accepts connections"},
		{"timeout", fmt.Errorf("dial: %w", timeoutErr{}), "timed out"},
		{"login failed", mssql.Error{Number: 18456, Message: "Login failed for user 'hs'."}, "refused the login hs"},
		{"database", mssql.Error{Number: 4060, Message: "Cannot open database"}, "can't open the database HybridSync"},
		{"untrusted certificate", fmt.Errorf("tls: %w", x509.UnknownAuthorityError{}), "Trust the server certificate"},
		{"other server error", mssql.Error{Number: 50000, Message: "custom"}, "error 50000: custom"},
		{"anything else", errors.New("\x00raw driver text"), "Check the server name, instance, port and login."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sqlConnectMessage(c, tt.err)
			if !strings.Contains(got, tt.want) {
				t.Errorf("%q, want it to contain %q", got, tt.want)
			}
			if strings.Contains(got, "raw driver text") {
				t.Errorf("raw error shown: %q", got)
			}
		})
	}
}

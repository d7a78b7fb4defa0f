package setup

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	mssql "github.com/microsoft/go-mssqldb"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Checker does the checks of the components page that need the world outside the
// form: "test the connection before anything is saved".
type Checker interface {
	// CheckLocation checks a custom installation location; sqlElsewhere says the
	// database will not be there.
	CheckLocation(ctx context.Context, dir string, sqlElsewhere bool) error
	// CheckSQLServer connects to the chosen SQL Server and database.
	CheckSQLServer(ctx context.Context, c Components) error
	// ConnectForest connects to a forest with the credentials typed on Connect
	// your directories, checks the account and reads what the wizard needs.
	ConnectForest(ctx context.Context, d ForestDraft, password string) (ForestConn, error)
	// HasAdminCredentials reports whether the enterprise admin credentials typed
	// for a forest are still held in memory; ForgetAdminCredentials drops them.
	HasAdminCredentials(forest string) bool
	ForgetAdminCredentials(forest string)
	// Children lists the OUs and containers one level below dn in a forest,
	// connecting with the connector account (or, before Configure created it,
	// the enterprise admin credentials held in memory).
	Children(ctx context.Context, fc ForestConn, dn string) ([]directory.Node, error)
	// FindGroups finds groups by name prefix; DirectMemberCount counts a
	// group's direct members.
	FindGroups(ctx context.Context, fc ForestConn, prefix string, max int) ([]directory.Group, error)
	DirectMemberCount(ctx context.Context, fc ForestConn, dn string) (int, error)
}

// CheckError is a check's failure, worded for the admin.
type CheckError struct {
	Msg string
	Err error
}

func (e *CheckError) Error() string { return e.Msg }
func (e *CheckError) Unwrap() error { return e.Err }

// ErrHoldsData is the "database already contains data" failure.
var ErrHoldsData = &CheckError{Msg: MsgDatabaseHoldsData}

// CheckMessage words a check's failure for the admin.
func CheckMessage(err error) string {
	var ce *CheckError
	if errors.As(err, &ce) {
		return ce.Msg
	}
	// Not worded for the admin: say what was checked, not the raw error.
	return "hybridsync could not complete this check. Try again; if it keeps failing, the server log has the details."
}

// StoreChecker checks against real folders and databases.
type StoreChecker struct {
	InstallID string // this console's install; its own configurations are not "earlier data"
	OwnDB     string // the console's own SQLite file, if it runs on one
	Box       *secret.Box
	Timeout   time.Duration
	// Vault holds enterprise admin credentials in memory until Configure.
	Vault *Vault
	// Store is the console's store (the active configuration, for pages that
	// are fixed after the first configure).
	Store *store.Store
	// Resolver finds domain controllers; nil is the system's resolver.
	Resolver *net.Resolver
	// Entra is where the console signs in to Microsoft Entra ID and Graph;
	// EntraVault keeps the signed-in administrator's session in memory.
	Entra      entra.Config
	EntraVault *EntraVault
	// Extranet stands for the public DNS on the federation checks (the
	// Verify page's extranet check, PingFederate's connectivity); nil is the
	// system's resolver.
	Extranet *net.Resolver
	// FedRoots are the CAs trusted for federation servers' HTTPS besides the
	// system's; Fed holds the federation pages' one-time secrets.
	FedRoots *x509.CertPool
	Fed      *FedVault

	schemaMu sync.Mutex
	schema   map[string]cachedSchema // by forest: several pages read it on every view
	users    map[string]cachedUsers  // by forest: the attributes of class user
}

type cachedUsers struct {
	names map[string]bool
	at    time.Time
}

type cachedSchema struct {
	attrs []directory.Attribute
	at    time.Time
}

// schemaTTL is how long a forest's schema is reused: schema changes are rare
// and a page view should not read thousands of attributeSchema objects each time.
const schemaTTL = 2 * time.Minute

func (s *StoreChecker) timeout() time.Duration {
	if s.Timeout == 0 {
		return 10 * time.Second
	}
	return s.Timeout
}

// CheckLocation accepts a folder that exists and is writable, or can be created,
// and refuses one whose LocalDB holds another install's configuration.
func (s *StoreChecker) CheckLocation(ctx context.Context, dir string, sqlElsewhere bool) error {
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return &CheckError{Msg: dir + " is a file, not a folder."}
	case err == nil:
		if err := writable(dir); err != nil {
			return &CheckError{Msg: "hybridsync can't write to " + dir + ".", Err: err}
		}
	case errors.Is(err, os.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		// ENOTDIR: some ancestor is a file; the walk up finds it and says so.
		parent := filepath.Dir(dir)
		for {
			pfi, perr := os.Stat(parent)
			if perr == nil {
				if !pfi.IsDir() {
					return &CheckError{Msg: parent + " is a file, so " + dir + " can't be created."}
				}
				if err := writable(parent); err != nil {
					return &CheckError{Msg: dir + " doesn't exist and hybridsync can't create it in " + parent + ".", Err: err}
				}
				return nil
			}
			if filepath.Dir(parent) == parent {
				return &CheckError{Msg: dir + " can't be created."}
			}
			parent = filepath.Dir(parent)
		}
	default:
		return &CheckError{Msg: "hybridsync can't read " + dir + ".", Err: err}
	}
	if sqlElsewhere {
		return nil
	}
	db := store.SQLitePath(dir)
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if s.OwnDB != "" && sameFile(db, s.OwnDB) {
		return nil
	}
	return s.checkStore(ctx, store.Options{Dialect: store.SQLite, DSN: db, ReadOnly: true}, db)
}

func (s *StoreChecker) checkStore(ctx context.Context, o store.Options, what string) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	st, err := store.Open(ctx, o)
	if err != nil {
		return &CheckError{Msg: "hybridsync can't open " + what + ".", Err: err}
	}
	defer st.Close()
	holds, err := st.HoldsConfigurationOf(ctx, s.InstallID)
	if errors.Is(err, store.ErrNoSchema) {
		return nil
	}
	if err != nil {
		return &CheckError{Msg: what + " exists but is not a hybridsync database. Choose another location, or move it away.", Err: err}
	}
	if holds {
		return ErrHoldsData
	}
	return nil
}

func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".hybridsync-check-*")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

func sameFile(a, b string) bool {
	fa, err1 := os.Stat(a)
	fb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(fa, fb)
}

// CheckSQLServer connects with the given login. With SA permissions the
// database may be missing (configure creates it); with DBO permissions it must
// exist. An existing database must not hold another install's configuration.
func (s *StoreChecker) CheckSQLServer(ctx context.Context, c Components) error {
	pw, err := c.SQLPasswordPlain(s.Box)
	if err != nil {
		return &CheckError{Msg: "The saved SQL password can't be read; enter it again.", Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	if c.SQLPermission == PermissionSA {
		master, err := store.OpenServer(ctx, c.SQLServerDSN(pw, "master"))
		if err != nil {
			return &CheckError{Msg: sqlConnectMessage(c, err), Err: err}
		}
		exists, err := store.DatabaseExists(ctx, master, c.SQLDatabase)
		master.Close()
		if err != nil {
			return &CheckError{Msg: "Connected to SQL Server, but could not look for the database " + c.SQLDatabase + ". Check that the login may read the server's list of databases.", Err: err}
		}
		if !exists {
			return nil
		}
	}
	err = s.checkStore(ctx, store.Options{Dialect: store.SQLServer, DSN: c.SQLServerDSN(pw, c.SQLDatabase)}, "The database "+c.SQLDatabase)
	var ce *CheckError
	if errors.As(err, &ce) && ce != ErrHoldsData && c.SQLPermission == PermissionDBO {
		return &CheckError{Msg: "hybridsync can't open the database " + c.SQLDatabase + " on " + c.SQLServer +
			". With DBO permissions, your SQL administrator must create the database beforehand and make this login its owner.", Err: err}
	}
	return err
}

// sqlConnectMessage words the usual ways a connection to SQL Server fails.
func sqlConnectMessage(c Components, err error) string {
	where := "SQL Server on " + c.SQLServer
	var dnsErr *net.DNSError
	var ne net.Error
	var se mssql.Error
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &dnsErr):
		return "The server name " + c.SQLServer + " can't be resolved. Check the name, or enter its address."
	case errors.Is(err, syscall.ECONNREFUSED):
		return "Nothing accepts connections for " + where + " at that port. Check the instance name and port, and that SQL Server allows TCP/IP connections."
	case errors.As(err, &ne) && ne.Timeout():
		return "hybridsync can't reach " + where + " (the connection timed out). Check the server name, the instance and port, and the firewall."
	case errors.As(err, &se) && se.Number == 18456:
		return "SQL Server refused the login " + c.SQLLogin + ": the login or password is wrong, or SQL Server authentication is off."
	case errors.As(err, &se) && se.Number == 4060:
		return "The login " + c.SQLLogin + " can't open the database " + c.SQLDatabase + " on " + c.SQLServer + "."
	case errors.As(err, &unknownCA), errors.As(err, &badHost), errors.As(err, &verify):
		return "The certificate of " + where + " isn't trusted by this host. Install its CA here, or tick \"Trust the server certificate\" if you accept the risk."
	case errors.As(err, &se):
		return where + " answered with error " + strconv.Itoa(int(se.Number)) + ": " + se.Message
	}
	return "hybridsync can't connect to " + where + ". Check the server name, instance, port and login."
}

// SQLPasswordPlain returns the SQL login's password: the one just typed, or the
// saved one.
func (c Components) SQLPasswordPlain(box *secret.Box) (string, error) {
	if c.newSQLPassword != "" {
		return c.newSQLPassword, nil
	}
	if box == nil {
		return "", errors.New("setup: no key to open the saved password")
	}
	return box.OpenFor(secret.PurposeSQLPassword, c.SQLPassword)
}

// SQLServerDSN is the go-mssqldb connection URL for the answers: the instance by
// name (resolved through SQL Server Browser), or by port when browsing is off.
func (c Components) SQLServerDSN(password, database string) string {
	name, port, _ := ParseInstance(c.SQLInstance)
	// The host may be an IPv6 address, typed with or without brackets; a URL
	// needs exactly one pair.
	host := strings.Trim(c.SQLServer, "[]")
	u := &url.URL{Scheme: "sqlserver", User: url.UserPassword(c.SQLLogin, password), Host: host}
	if strings.Contains(host, ":") {
		u.Host = "[" + host + "]"
	}
	switch {
	case port != 0:
		u.Host = net.JoinHostPort(host, strconv.Itoa(port))
	case name != "":
		u.Path = "/" + name
	}
	q := url.Values{}
	q.Set("database", database)
	q.Set("app name", "hybridsync")
	q.Set("dial timeout", "10")
	q.Set("encrypt", "true")
	if c.SQLTrustCert {
		q.Set("TrustServerCertificate", "true")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Describe says where the sync database is, for summaries.
func (c Components) Describe(dataDir string) string {
	if c.UseSQLServer {
		inst := c.SQLInstance
		if inst == "" {
			inst = "default instance"
		}
		return fmt.Sprintf("SQL Server %s (%s), database %s, %s permissions", c.SQLServer, inst, c.SQLDatabase, permissionLabel(c.SQLPermission))
	}
	loc := dataDir
	if c.CustomLocation {
		loc = c.Location
	}
	return "Embedded LocalDB (SQLite) at " + store.SQLitePath(loc)
}

func permissionLabel(p string) string {
	if p == PermissionDBO {
		return "database owner (DBO)"
	}
	return "SQL Server administrator (SA)"
}

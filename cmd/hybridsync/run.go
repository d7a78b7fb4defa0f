package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/schedule"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/handlers"
)

const usage = `usage: hybridsync <command> [flags]

commands:
  serve           run the web console
  sync            run one synchronization cycle and print a summary
  migrate         apply pending schema migrations and exit
  config export   print the active configuration as a settings file (JSON)
  accounts        manage accounts without the browser (list, reset-password,
                  add-to-group, disable, enable)
  version         print the version

Run "hybridsync <command> -h" for a command's flags. Every flag can also be set
in the environment: --data-dir is HYBRIDSYNC_DATA_DIR, and so on.

hybridsync sync exits with the cycle's outcome: 0 succeeded, 3 succeeded with
warnings, 4 completed with errors, 5 stopped by the deletion guard, 6
interrupted, 1 failed (or could not start).`

// run is the whole program; main only hands it the process's arguments,
// environment and output.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stderr)
	case "migrate":
		return migrate(ctx, args[1:], getenv, stdout, stderr)
	case "sync":
		return syncOnce(ctx, args[1:], getenv, stdout, stderr)
	case "config":
		if len(args) < 2 || args[1] != "export" {
			return errors.New(`unknown config command; use "hybridsync config export"`)
		}
		return configExport(ctx, args[2:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "hybridsync", setup.ProductVersion)
		return nil
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// common are the flags every command shares.
type common struct {
	dataDir   string
	database  string
	logLevel  string
	logFormat string
	// memoryLimit is the soft memory limit (see metaverse.MemoryLimit);
	// sizeMemory says it is "auto", which the cycle sizes by the directory.
	memoryLimit string
	sizeMemory  bool
	// secretKeyFile holds the secret keys outside the data directory.
	secretKeyFile string
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func (c *common) register(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.dataDir, "data-dir", envOr(getenv, "HYBRIDSYNC_DATA_DIR", "./data"), "data directory (the installation location): LocalDB, secret key `dir` [HYBRIDSYNC_DATA_DIR]")
	fs.StringVar(&c.database, "database", envOr(getenv, "HYBRIDSYNC_DATABASE", ""), "empty for the embedded LocalDB in the data directory, or a SQL Server `URL` (sqlserver://user:pass@host/instance?database=HybridSync) [HYBRIDSYNC_DATABASE]")
	fs.StringVar(&c.logLevel, "log-level", envOr(getenv, "HYBRIDSYNC_LOG_LEVEL", "info"), "debug, info, warn or error [HYBRIDSYNC_LOG_LEVEL]")
	fs.StringVar(&c.logFormat, "log-format", envOr(getenv, "HYBRIDSYNC_LOG_FORMAT", "text"), "text or json [HYBRIDSYNC_LOG_FORMAT]")
	fs.StringVar(&c.secretKeyFile, "secret-key-file", getenv("HYBRIDSYNC_SECRET_KEY_FILE"), "read the secret key from this `file` instead of the data directory's secret.key, to keep it off the data disk: base64 keys a line, newest first (the newest seals, all open: that is how a key is rotated), or one raw 32-byte key [HYBRIDSYNC_SECRET_KEY_FILE]")
	fs.StringVar(&c.memoryLimit, "memory-limit", envOr(getenv, "HYBRIDSYNC_MEMORY_LIMIT", memoryAuto), "soft memory `limit` the collector keeps the process under: auto (768MiB plus 1KiB per connector-space object, set before each sync), a size (768MiB, 2GiB) or off; GOMEMLIMIT, if set, wins [HYBRIDSYNC_MEMORY_LIMIT]")
}

// setUp applies the process-wide settings of the flags — the soft memory
// limit, then the logger, which it returns.
func (c *common) setUp(w io.Writer, getenv func(string) string) (*slog.Logger, error) {
	if err := c.applyMemoryLimit(getenv); err != nil {
		return nil, err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, fmt.Errorf("bad --log-level %q", c.logLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("bad --log-format %q", c.logFormat)
}

func (c *common) storeOptions() (store.Options, error) {
	abs, err := filepath.Abs(c.dataDir)
	if err != nil {
		return store.Options{}, fmt.Errorf("bad --data-dir: %w", err)
	}
	c.dataDir = abs
	if c.database == "" {
		// The data directory is hybridsync's own: Open makes it 0700.
		return store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(abs), Private: true}, nil
	}
	if !strings.HasPrefix(c.database, "sqlserver://") {
		return store.Options{}, errors.New("--database must be empty (LocalDB) or a sqlserver:// URL")
	}
	return store.Options{Dialect: store.SQLServer, DSN: c.database}, nil
}

// openStore opens the store and makes sure its schema is current: a brand-new
// database is created; an existing one with pending migrations is migrated only
// when allowed.
func (c *common) openStore(ctx context.Context, log *slog.Logger, allowMigrate bool) (*store.Store, error) {
	o, err := c.storeOptions()
	if err != nil {
		return nil, err
	}
	o.Log = log
	st, err := store.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	applied, latest, err := st.SchemaVersion(ctx)
	if err != nil {
		st.Close()
		return nil, err
	}
	if applied < latest && (applied == 0 || allowMigrate) {
		n, err := st.Migrate(ctx)
		if err != nil {
			st.Close()
			return nil, err
		}
		log.Info("store schema migrated", "dialect", st.Dialect(), "from", applied, "to", applied+n)
	}
	if err := st.CheckSchema(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// loadBox loads the secret keys: from --secret-key-file, else from
// HYBRIDSYNC_SECRET_KEY, else from the data directory's secret.key, made on
// first use. Call it after storeOptions, which makes --data-dir absolute.
func (c *common) loadBox(getenv func(string) string, log *slog.Logger) (*secret.Box, error) {
	file := c.secretKeyFile
	if file != "" {
		abs, err := filepath.Abs(file)
		if err != nil {
			return nil, fmt.Errorf("bad --secret-key-file: %w", err)
		}
		file = abs
	}
	return secret.LoadFrom(secret.Source{DataDir: c.dataDir, File: file, Env: getenv("HYBRIDSYNC_SECRET_KEY"), Log: log})
}

func serve(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	listen := fs.String("listen", envOr(getenv, "HYBRIDSYNC_LISTEN", "127.0.0.1:8080"), "address to listen on [HYBRIDSYNC_LISTEN]")
	doMigrate := fs.Bool("migrate", getenv("HYBRIDSYNC_MIGRATE") == "true", "apply pending schema migrations at start [HYBRIDSYNC_MIGRATE=true]")
	maxJobs := fs.Int("max-jobs", atoiOr(getenv("HYBRIDSYNC_MAX_JOBS"), 2), "jobs that may run at once [HYBRIDSYNC_MAX_JOBS]")
	tlsCert := fs.String("tls-cert", getenv("HYBRIDSYNC_TLS_CERT"), "serve HTTPS with this certificate `file` [HYBRIDSYNC_TLS_CERT]")
	tlsKey := fs.String("tls-key", getenv("HYBRIDSYNC_TLS_KEY"), "and this key `file` [HYBRIDSYNC_TLS_KEY]")
	dnsServer := fs.String("dns-server", getenv("HYBRIDSYNC_DNS_SERVER"), "find domain controllers through this DNS server `host:port` instead of the system resolver [HYBRIDSYNC_DNS_SERVER]")
	extranetDNS := fs.String("extranet-dns-server", getenv("HYBRIDSYNC_EXTRANET_DNS_SERVER"), "the DNS server `host:port` that stands for the public DNS in the federation checks (Verify federation, PingFederate connectivity); default: the system resolver [HYBRIDSYNC_EXTRANET_DNS_SERVER]")
	fedCA := fs.String("federation-ca", getenv("HYBRIDSYNC_FEDERATION_CA"), "also trust the CA certificates in this PEM `file` for the federation servers' HTTPS (AD FS, PingFederate metadata) [HYBRIDSYNC_FEDERATION_CA]")
	farmPoll := fs.Duration("farm-poll", durationOr(getenv("HYBRIDSYNC_FARM_POLL"), 0), "how often Configure asks a new AD FS farm for its metadata while it waits (default 10s) [HYBRIDSYNC_FARM_POLL]")
	idle := fs.Duration("idle-timeout", durationOr(getenv("HYBRIDSYNC_IDLE_TIMEOUT"), 30*time.Minute), "sign out after this long without a request [HYBRIDSYNC_IDLE_TIMEOUT]")
	scheduler := fs.Bool("scheduler", getenv("HYBRIDSYNC_SCHEDULER") != "false", "run synchronization cycles on the schedule (false: only on Run now and `hybridsync sync`) [HYBRIDSYNC_SCHEDULER=false]")
	schedTick := fs.Duration("schedule-check", durationOr(getenv("HYBRIDSYNC_SCHEDULE_CHECK"), time.Minute), "how often the scheduler checks whether a cycle is due [HYBRIDSYNC_SCHEDULE_CHECK]")
	publicURL := fs.String("public-url", getenv("HYBRIDSYNC_PUBLIC_URL"), "the console's `URL` as browsers reach it, for sign-in callbacks; default: the address each request came to [HYBRIDSYNC_PUBLIC_URL]")
	var ec entraFlags
	ec.register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return err
	}
	entraCfg, err := ec.config()
	if err != nil {
		return err
	}
	entraRoots, err := ec.rootCAs()
	if err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	log, err := c.setUp(stderr, getenv)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx, log, *doMigrate)
	if err != nil {
		return err
	}
	defer st.Close()

	installID, err := st.SettingOrCreate(ctx, store.SettingInstallID, func() (string, error) { return auth.Token(16), nil })
	if err != nil {
		return err
	}
	box, err := c.loadBox(getenv, log)
	if err != nil {
		return err
	}
	ownDB := ""
	if st.Dialect() == store.SQLite {
		ownDB = store.SQLitePath(c.dataDir)
	}
	vault := &setup.Vault{}
	resolver := resolverAt(*dnsServer)
	fedRoots, err := rootsFrom(*fedCA)
	if err != nil {
		return fmt.Errorf("--federation-ca: %w", err)
	}
	checker := &setup.StoreChecker{InstallID: installID, OwnDB: ownDB, Box: box, Vault: vault, Resolver: resolver, Store: st,
		Entra: entraCfg, EntraVault: &setup.EntraVault{}, Extranet: resolverAt(*extranetDNS), FedRoots: fedRoots}

	runner := jobs.NewRunner(st, jobs.NewHub(), log, *maxJobs)
	cyc := cycle.New(cycle.Deps{Store: st, Box: box, Entra: entraCfg, Resolver: resolver, Log: log, SizeMemory: c.sizeMemory})
	runner.Register(cyc.Type())
	runner.Register(configure.Type(configure.Deps{Store: st, Box: box, DataDir: c.dataDir, InstallID: installID, Checker: checker, Vault: vault, Resolver: resolver, Entra: checker,
		Scheduler: configure.Scheduler{On: *scheduler, Check: *schedTick}, FarmPoll: *farmPoll}))
	runner.OnFinish(audit.ConfigureEnds(st, configure.Kind, log))
	if n, err := runner.Recover(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Warn("marked jobs interrupted by the last stop", "count", n)
	}
	if _, err := cycle.EndInterrupted(ctx, st); err != nil {
		return err
	}

	// The scheduler starts a cycle when one is due; it stops with ctx.
	sched := &schedule.Scheduler{Store: st, Log: log, Tick: *schedTick,
		State: func(ctx context.Context) (schedule.State, error) { return cycle.ScheduleState(ctx, st, time.Now()) },
		Start: func(ctx context.Context) error {
			_, err := runner.Start(ctx, jobs.Request{Kind: cycle.Kind, Params: cycle.Params{Trigger: cycle.TriggerSchedule}, By: "scheduler"})
			return err
		}}
	schedCtx, stopSched := context.WithCancel(ctx)
	defer stopSched()
	if *scheduler {
		go sched.Run(schedCtx)
	} else {
		log.Info("the sync scheduler is off (--scheduler=false)")
	}

	if err := firstRunToken(ctx, st, log, *listen, *tlsCert != ""); err != nil {
		return err
	}
	if err := st.DeleteExpiredSessions(ctx); err != nil {
		return err
	}

	h, err := handlers.New(ctx, handlers.Config{DataDir: c.dataDir, InstallID: installID, Secure: *tlsCert != "", IdleTimeout: *idle, PublicURL: strings.TrimSuffix(*publicURL, "/"),
		Scheduler: configure.Scheduler{On: *scheduler, Check: *schedTick}},
		handlers.Deps{Store: st, Box: box, Runner: runner, Checker: checker, RootCAs: entraRoots, Log: log})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h.Routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second, // the SSE handler lifts it for its stream
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12},
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("unable to listen on %s: %w", *listen, err)
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	log.Info("hybridsync console listening", "url", scheme+"://"+ln.Addr().String(), "data_dir", c.dataDir, "store", st.Dialect(), "version", setup.ProductVersion)

	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- srv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopSched()
	// HTTP first (event streams end at once), then the engine.
	h.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("HTTP shutdown incomplete", "err", err)
	}
	runner.Shutdown(sctx)
	log.Info("stopped")
	return nil
}

// firstRunToken prints a one-time setup token while no account exists. Only its
// hash is stored; each start replaces the previous token.
func firstRunToken(ctx context.Context, st *store.Store, log *slog.Logger, listen string, tlsOn bool) error {
	n, err := st.CountAccounts(ctx)
	if err != nil || n > 0 {
		return err
	}
	tok := auth.Token(24)
	if err := st.SetSetting(ctx, store.SettingSetupTokenHash, auth.HashToken(tok)); err != nil {
		return err
	}
	scheme := "http"
	if tlsOn {
		scheme = "https"
	}
	log.Warn("first run: no account exists yet; open the console and create the first administrator with this one-time setup token",
		"setup_token", tok, "url", scheme+"://"+listen+"/first-run")
	return nil
}

// openFor parses a store command's flags and opens its store.
func openFor(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer, allowMigrate bool) (*store.Store, string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	if err := fs.Parse(args); err != nil {
		return nil, "", err
	}
	log, err := c.setUp(stderr, getenv)
	if err != nil {
		return nil, "", err
	}
	st, err := c.openStore(ctx, log, allowMigrate)
	return st, c.dataDir, err
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	st, _, err := openFor(ctx, "migrate", args, getenv, stderr, true)
	if err != nil {
		return err
	}
	defer st.Close()
	applied, _, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "schema is at version %d\n", applied)
	return nil
}

func configExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	st, dataDir, err := openFor(ctx, "config export", args, getenv, stderr, false)
	if err != nil {
		return err
	}
	defer st.Close()
	cfg, err := st.ActiveConfiguration(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return errors.New("no configuration has been applied yet")
	}
	if err != nil {
		return err
	}
	x, err := setup.ExportConfiguration(cfg, "hybridsync config export", dataDir, time.Now())
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(x)
}

// resolverAt returns a resolver that asks one DNS server, or nil (the system's)
// for "".
func resolverAt(addr string) *net.Resolver {
	if addr == "" {
		return nil
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func durationOr(s string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(s); err == nil {
		return d
	}
	return def
}

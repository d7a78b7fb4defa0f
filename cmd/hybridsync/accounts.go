package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/store"
)

const accountsUsage = `usage: hybridsync accounts <command> [flags] [arguments]

Recovery without the browser: works on the store directly, with or without
the console running. Whoever can read the data directory (or the SQL Server
database) can do this; nobody else can.

commands:
  list                          list the accounts, their groups and status
  reset-password <user>         set a new password, read from standard input
                                (prompted for, without echo, on a terminal);
                                ends every session of the account
  add-to-group <user> <group>   add to a sync group: admins, operators,
                                browse, passwordset, or the group's name
  disable <user>                disable the account and end its sessions;
                                refused for the last enabled administrator
  enable <user>                 enable a disabled account

flags (as for serve):`

// accountsCmd is `hybridsync accounts`: it takes standard input for the
// password of reset-password.
func accountsCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("accounts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	c.register(fs, getenv)
	fs.Usage = func() {
		fmt.Fprintln(stderr, accountsUsage)
		fs.PrintDefaults()
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fs.Usage()
		if len(args) == 0 {
			return errors.New("no accounts command given")
		}
		return nil
	}
	cmd := args[0]
	want, ok := map[string]int{"list": 0, "reset-password": 1, "add-to-group": 2, "disable": 1, "enable": 1}[cmd]
	if !ok {
		fs.Usage()
		return fmt.Errorf("unknown accounts command %q", cmd)
	}
	pos, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != want {
		fs.Usage()
		return fmt.Errorf("accounts %s takes %d argument(s), got %d", cmd, want, len(pos))
	}
	log, err := c.setUp(stderr, getenv)
	if err != nil {
		return err
	}
	o, err := c.storeOptions()
	if err != nil {
		return err
	}
	// openStore would create a brand-new database: here, that means a wrong
	// --data-dir, so say so instead.
	if o.Dialect == store.SQLite {
		if _, err := os.Stat(o.DSN); err != nil {
			return fmt.Errorf("no database in %s (is --data-dir right?): %w", c.dataDir, err)
		}
	}
	st, err := c.openStore(ctx, log, false)
	if err != nil {
		return err
	}
	defer st.Close()
	a := accountsTool{st: st, log: log, out: stdout, stderr: stderr, in: stdin, actor: cliAuditActor()}
	switch cmd {
	case "list":
		return a.list(ctx)
	case "reset-password":
		return a.resetPassword(ctx, pos[0])
	case "add-to-group":
		return a.addToGroup(ctx, pos[0], pos[1])
	case "disable":
		return a.disable(ctx, pos[0])
	default:
		return a.enable(ctx, pos[0])
	}
}

// parseInterleaved parses flags wherever they stand among the arguments
// ("disable alice --data-dir d" as well as "disable --data-dir d alice"),
// and returns the arguments. After "--" everything is an argument.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

type accountsTool struct {
	st          *store.Store
	log         *slog.Logger
	out, stderr io.Writer
	in          io.Reader
	actor       string // who, in the audit trail
}

// cliAuditActor is the command line's name in the audit trail: "cli:" and
// the operating system's user running it.
func cliAuditActor() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return "cli:" + name
}

// record adds a change made here to the audit trail, as the console's are.
func (a accountsTool) record(ctx context.Context, action, target, outcome, detail string) {
	e := store.AuditEvent{Actor: a.actor, Client: "local", Action: action, Target: target, Outcome: outcome, Detail: detail}
	if err := a.st.AppendAudit(ctx, e); err != nil {
		a.log.Error("audit record not written", "action", action, "target", target, "err", err)
		fmt.Fprintf(a.stderr, "Warning: the change was made, but could not be recorded in the audit trail: %v\n", err)
	}
}

const cliActor = "hybridsync accounts"

func (a accountsTool) account(ctx context.Context, username string) (store.Account, error) {
	acct, err := a.st.AccountByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return store.Account{}, fmt.Errorf("no account named %q (hybridsync accounts list shows them)", username)
	}
	return acct, err
}

func (a accountsTool) list(ctx context.Context) error {
	accts, err := a.st.Accounts(ctx)
	if err != nil {
		return err
	}
	external, err := a.st.OIDCAccounts(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tSTATUS\tSIGNS IN WITH\tGROUPS\tDISPLAY NAME")
	for _, acct := range accts {
		status, with, groups := "enabled", "password", strings.Join(acct.Roles, ",")
		if acct.Disabled {
			status = "disabled"
		}
		if _, ok := external[acct.ID]; ok {
			with = "identity provider"
		}
		if groups == "" {
			groups = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", oneLine(acct.Username), status, with, groups, oneLine(acct.DisplayName))
	}
	return tw.Flush()
}

// oneLine keeps a name from breaking the table (or the terminal).
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

func (a accountsTool) resetPassword(ctx context.Context, username string) error {
	acct, err := a.account(ctx, username)
	if err != nil {
		return err
	}
	pw, err := a.readPassword(acct.Username)
	if err != nil {
		return err
	}
	if msg := auth.ValidatePassword(pw, acct.Username); msg != "" {
		return errors.New(msg)
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return fmt.Errorf("unable to hash the password: %w", err)
	}
	ended, err := a.st.SetPassword(ctx, acct.ID, hash)
	if err != nil {
		return err
	}
	a.log.Info("password reset", "by", cliActor, "account", acct.Username, "sessions_ended", ended)
	a.record(ctx, audit.AccountReset, acct.Username, audit.Succeeded, "ended "+sessions(ended))
	fmt.Fprintf(a.out, "Password of %s reset; %s ended.\n", oneLine(acct.Username), sessions(ended))
	if acct.Disabled {
		fmt.Fprintf(a.out, "%s is disabled: hybridsync accounts enable %s lets it sign in.\n", oneLine(acct.Username), oneLine(acct.Username))
	}
	return nil
}

// readPassword reads the new password: on a terminal it prompts twice, with
// echo off where stty can turn it off; otherwise it reads one line.
func (a accountsTool) readPassword(username string) (string, error) {
	f, isFile := a.in.(*os.File)
	if !isFile || !isTerminal(f) {
		line, err := bufio.NewReader(a.in).ReadString('\n')
		if err != nil && (!errors.Is(err, io.EOF) || line == "") {
			return "", fmt.Errorf("unable to read the new password from standard input: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	if restore := echoOff(f); restore != nil {
		defer restore()
	} else {
		fmt.Fprintln(a.stderr, "Warning: the password will show as you type it; pipe it in to keep it off the screen.")
	}
	r := bufio.NewReader(f)
	ask := func(prompt string) (string, error) {
		fmt.Fprint(a.stderr, prompt)
		line, err := r.ReadString('\n')
		fmt.Fprintln(a.stderr)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("unable to read the new password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	pw, err := ask("New password for " + oneLine(username) + ": ")
	if err != nil {
		return "", err
	}
	again, err := ask("Again: ")
	if err != nil {
		return "", err
	}
	if pw != again {
		return "", errors.New("the two passwords differ; nothing changed")
	}
	return pw, nil
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// echoOff turns the terminal's echo off with stty and returns what turns it
// back on, or nil when it could not (no stty: Windows).
func echoOff(f *os.File) func() {
	stty := func(arg string) error {
		cmd := exec.Command("stty", arg)
		cmd.Stdin = f
		return cmd.Run()
	}
	if err := stty("-echo"); err != nil {
		return nil
	}
	return func() { _ = stty("echo") }
}

func sessions(n int) string {
	if n == 1 {
		return "1 session"
	}
	return fmt.Sprintf("%d sessions", n)
}

// roleOf reads a group argument: a role key, its label, or the sync group's
// configured name, in any case.
func (a accountsTool) roleOf(ctx context.Context, group string) (auth.Role, error) {
	names, err := a.st.SyncGroups(ctx)
	if err != nil {
		return "", err
	}
	var known []string
	for _, r := range auth.Roles {
		name := names[string(r)]
		if name == "" {
			name = auth.DefaultGroupNames[r]
		}
		for _, n := range []string{string(r), r.Label(), name} {
			if strings.EqualFold(group, n) {
				return r, nil
			}
		}
		known = append(known, string(r)+" ("+name+")")
	}
	return "", fmt.Errorf("no sync group %q; the groups are %s", group, strings.Join(known, ", "))
}

func (a accountsTool) addToGroup(ctx context.Context, username, group string) error {
	acct, err := a.account(ctx, username)
	if err != nil {
		return err
	}
	role, err := a.roleOf(ctx, group)
	if err != nil {
		return err
	}
	if err := a.st.AddToGroup(ctx, acct.ID, string(role), cliActor); err != nil {
		return err
	}
	a.log.Info("added to group", "by", cliActor, "account", acct.Username, "group", role)
	a.record(ctx, audit.AccountRoles, acct.Username, audit.Succeeded, "added to "+role.Label())
	fmt.Fprintf(a.out, "%s is in %s (%s).\n", oneLine(acct.Username), role.Label(), role)
	return nil
}

func (a accountsTool) disable(ctx context.Context, username string) error {
	acct, err := a.account(ctx, username)
	if err != nil {
		return err
	}
	ended, err := a.st.DisableAccount(ctx, acct.ID)
	if errors.Is(err, store.ErrLastAdmin) {
		a.record(ctx, audit.AccountOff, acct.Username, audit.Refused, "the only enabled administrator")
		return fmt.Errorf("%s is the only enabled administrator, and hybridsync needs one: make another first (hybridsync accounts add-to-group <user> admins); nothing changed", oneLine(acct.Username))
	}
	if err != nil {
		return err
	}
	a.log.Info("account disabled", "by", cliActor, "account", acct.Username, "sessions_ended", ended)
	a.record(ctx, audit.AccountOff, acct.Username, audit.Succeeded, "ended "+sessions(ended))
	fmt.Fprintf(a.out, "%s disabled; %s ended.\n", oneLine(acct.Username), sessions(ended))
	return nil
}

func (a accountsTool) enable(ctx context.Context, username string) error {
	acct, err := a.account(ctx, username)
	if err != nil {
		return err
	}
	if err := a.st.EnableAccount(ctx, acct.ID); err != nil {
		return err
	}
	a.log.Info("account enabled", "by", cliActor, "account", acct.Username)
	a.record(ctx, audit.AccountOn, acct.Username, audit.Succeeded, "")
	fmt.Fprintf(a.out, "%s enabled.\n", oneLine(acct.Username))
	return nil
}

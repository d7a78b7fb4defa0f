// Command forests starts, stops and describes the two standard Samba AD test
// forests for a developer (scripts/forests.sh, `make forests` and `make run`
// call it):
//
//	forests up [-rebuild] [-dir DIR] [-keep] [-started FILE] [-q]
//	forests down [-dir DIR] [-started FILE]
//	forests status [-dir DIR]
//	forests describe [flags]   make run's block: the console, the tenant's and the forests' accounts
//
// The forests live in DIR/<corp|fabrikam>; DIR defaults to
// <module>/.cache/forests/run (HYBRIDSYNC_FORESTS_CACHE moves the cache). `up`
// starts a fresh copy of the cached, seeded forests each time they are not
// running; with -keep it starts a seeded forest it finds in DIR as it is, so
// what the console wrote into it (connector accounts, sourceAnchors) stays
// with the console's data — make run keeps its forests in $DATA_DIR/forests
// that way. A forest already running, in DIR or in the default dir, is used
// as it is and left running.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "forests:", err)
		os.Exit(1)
	}
}

const usage = "usage: forests up [-rebuild] [-dir DIR] [-keep] [-started FILE] [-q] | down [-dir DIR] [-started FILE] | status [-dir DIR] | describe [flags]"

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(usage)
	}
	cacheDir, err := forest.DefaultCacheDir()
	if err != nil {
		return err
	}
	if cacheDir, err = filepath.Abs(cacheDir); err != nil {
		return err
	}
	w := &where{defaultDir: filepath.Join(cacheDir, "run")}
	fl := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&w.dir, "dir", "", "the `folder` that holds the forests (default "+w.defaultDir+")")
	switch args[0] {
	case "up":
		rebuild := fl.Bool("rebuild", false, "provision and seed afresh, replacing the cached tarballs")
		keep := fl.Bool("keep", false, "start a seeded forest found in -dir as it is instead of a fresh copy of the cache")
		started := fl.String("started", "", "write the forests this command starts (name, pid, dir) to `file`, for down -started")
		quiet := fl.Bool("q", false, "print only progress (on stderr), not how to reach the forests")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		return up(ctx, w, upOptions{cacheDir: cacheDir, rebuild: *rebuild, keep: *keep, started: *started, quiet: *quiet}, stdout, stderr)
	case "down":
		started := fl.String("started", "", "stop only the forests listed in `file` by up -started, and only while they run with the PID listed")
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		if *started != "" {
			return downStarted(w, *started, stdout)
		}
		var errs []error
		for _, f := range w.forests() {
			if pid, ok := f.PID(); ok {
				err := f.Stop()
				errs = append(errs, err)
				if err == nil {
					fmt.Fprintf(stdout, "%s: stopped (pid %d)\n", f.Name, pid)
				}
			} else {
				fmt.Fprintf(stdout, "%s: not running\n", f.Name)
			}
		}
		return errors.Join(errs...)
	case "status":
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		for _, s := range forest.Standard() {
			if f := w.running(s); f != nil {
				pid, _ := f.PID()
				fmt.Fprintf(stdout, "%s: running (pid %d) on %s, dir %s\n", f.Name, pid, f.IP, f.Dir)
			} else {
				fmt.Fprintf(stdout, "%s: not running\n", s.Name)
			}
		}
		return nil
	case "describe":
		var b block
		b.register(fl)
		if err := fl.Parse(args[1:]); err != nil {
			return err
		}
		return b.print(stdout, w)
	}
	return fmt.Errorf("unknown command %q (%s)", args[0], usage)
}

// where says in which folders to look for the standard forests.
type where struct {
	dir        string // -dir; "" means defaultDir
	defaultDir string // <cache>/run, where `make forests` keeps them
}

// base is the folder of the forests, absolute: samba's pid and log paths are,
// and PID compares them with what the process has open.
func (w *where) base() string {
	if w.dir != "" {
		if abs, err := filepath.Abs(w.dir); err == nil {
			return abs
		}
		return w.dir
	}
	return w.defaultDir
}

// forests are the standard forests in w.base(), running or not.
func (w *where) forests() []*forest.Forest {
	var fs []*forest.Forest
	for _, s := range forest.Standard() {
		fs = append(fs, forest.New(s, filepath.Join(w.base(), s.DirName())))
	}
	return fs
}

// running is spec's forest running from w.base() or from the default dir
// (`make forests`), or nil.
func (w *where) running(spec forest.Spec) *forest.Forest {
	for _, base := range []string{w.base(), w.defaultDir} {
		if f := forest.New(spec, filepath.Join(base, spec.DirName())); f.Running() {
			return f
		}
	}
	return nil
}

type upOptions struct {
	cacheDir string
	rebuild  bool
	keep     bool
	started  string
	quiet    bool
}

func up(ctx context.Context, w *where, o upOptions, stdout, stderr io.Writer) error {
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, format+"\n", a...) }
	start := time.Now()
	installed, err := forest.Install(ctx)
	if err != nil {
		return err
	}
	if installed {
		logf("installed samba in %s", time.Since(start).Round(time.Second))
	}
	var todo []*forest.Forest
	var ready []*forest.Forest
	for _, f := range w.forests() {
		if r := w.running(f.Spec); r != nil && !o.rebuild {
			pid, _ := r.PID()
			logf("forest %s: already running (pid %d, dir %s); using it as it is", r.Name, pid, r.Dir)
			ready = append(ready, r)
			continue
		}
		if err := f.Stop(); err != nil {
			return err
		}
		todo = append(todo, f)
	}
	if o.started != "" {
		// Written (empty) before anything starts, so a caller stopped midway
		// never reads a list left by an earlier run.
		if err := os.WriteFile(o.started, nil, 0o644); err != nil {
			return err
		}
	}
	started, err := startAll(ctx, todo, forest.Options{CacheDir: o.cacheDir, Rebuild: o.rebuild, Logf: logf}, o.keep)
	if err != nil {
		return err
	}
	if o.started != "" {
		var lines strings.Builder
		for _, f := range started {
			pid, _ := f.PID()
			fmt.Fprintf(&lines, "%s %d %s\n", f.Name, pid, f.Dir)
		}
		if err := os.WriteFile(o.started, []byte(lines.String()), 0o644); err != nil {
			_ = forest.StopAll(started)
			return err
		}
	}
	ready = append(ready, started...)
	logf("forests up in %s", time.Since(start).Round(100*time.Millisecond))
	if o.quiet {
		return nil
	}
	for _, f := range ready {
		describe(stdout, f)
	}
	fmt.Fprintln(stdout, "`make run` uses them as they are (and leaves them running); it points the console's DNS at 127.0.0.2:53,")
	fmt.Fprintln(stdout, "so corp is found through DNS; add fabrikam with its DC given as 127.0.0.3:636. Paste each forest's CA")
	fmt.Fprintln(stdout, "(above) into the CA certificate field. Stop them with `make forests-down` (or scripts/forests.sh down).")
	return nil
}

// startAll starts the forests in parallel (see startOne). On error, or when
// ctx ends, the ones that came up are stopped again.
func startAll(ctx context.Context, todo []*forest.Forest, opt forest.Options, keep bool) ([]*forest.Forest, error) {
	out := make([]*forest.Forest, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	for i, f := range todo {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = startOne(ctx, f, opt, keep)
		}()
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err == nil && ctx.Err() != nil {
		err = errors.New("stopped by a signal; the forests started meanwhile are stopped again")
	}
	if err != nil {
		_ = forest.StopAll(out)
		return nil, err
	}
	return out, nil
}

// startOne brings f up: with keep, a seeded forest found in its dir as it is;
// otherwise (or when that does not start) a fresh copy of the cached tarball;
// without a usable tarball, provisioned and seeded afresh (forest.Up).
//
// Starting samba is not cut short when ctx ends: a start cancelled right after
// `samba -D` returns can leave a samba whose pid file is not written yet, which
// Stop then cannot find. Start gives up on its own after 90 s, and startAll
// stops what came up once it sees ctx ended.
func startOne(ctx context.Context, f *forest.Forest, opt forest.Options, keep bool) (*forest.Forest, error) {
	startCtx := context.WithoutCancel(ctx)
	if keep && !opt.Rebuild && keepable(f) {
		err := f.Start(startCtx)
		if err == nil {
			opt.Logf("forest %s: started as it was left in %s (%s)", f.Name, f.Dir, f.Timings)
			return f, nil
		}
		opt.Logf("forest %s: the copy in %s did not start (%v); replacing it with a fresh copy", f.Name, f.Dir, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	tarPath := filepath.Join(opt.CacheDir, f.Spec.CacheFile())
	if _, err := os.Stat(tarPath); err == nil && !opt.Rebuild {
		if err := clearStopped(f.Dir); err != nil {
			return nil, err
		}
		r, err := forest.Restore(startCtx, f.Spec, tarPath, f.Dir) // half a tarball would hold no forest to clear next time
		if err == nil {
			if err = r.Start(startCtx); err == nil {
				opt.Logf("forest %s: restored from %s and up on %s (%s)", r.Name, tarPath, r.IP, r.Timings)
				return r, nil
			}
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		opt.Logf("forest %s: cache %s unusable (%v); provisioning afresh", f.Name, tarPath, err)
		opt.Rebuild = true // and replace the tarball
	}
	return forest.Up(ctx, f.Spec, f.Dir, opt)
}

// clearStopped removes dir if it does not exist, is empty or holds a stopped
// forest (its hybridsync-forest.json), and refuses anything else.
func clearStopped(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(entries) == 0) {
		return os.RemoveAll(dir)
	}
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "hybridsync-forest.json")); err != nil {
		return fmt.Errorf("%s is not empty and holds no forest; not removing it (if it is a forest's leftover, remove it and try again)", dir)
	}
	for _, s := range forest.Standard() {
		if f := forest.New(s, dir); f.Running() {
			return fmt.Errorf("forest %s: running in %s; stop it first", f.Name, dir)
		}
	}
	return os.RemoveAll(dir)
}

// keepable: f.Dir holds a forest of f's spec, seeded with this SeedVersion in
// this very dir (samba's paths are absolute, so a moved copy is not reused).
func keepable(f *forest.Forest) bool {
	b, err := os.ReadFile(filepath.Join(f.Dir, "hybridsync-forest.json"))
	if err != nil {
		return false
	}
	var m struct {
		Spec        forest.Spec `json:"spec"`
		Dir         string      `json:"dir"`
		SeedVersion string      `json:"seedVersion"`
		Seeded      bool        `json:"seeded"`
	}
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	if _, err := os.Stat(f.ConfPath()); err != nil {
		return false
	}
	return m.Seeded && m.SeedVersion == forest.SeedVersion && m.Spec == f.Spec && m.Dir == f.Dir
}

// startedForest is a line of up -started: a forest that up started.
type startedForest struct {
	name string
	pid  int
	dir  string
}

func readStarted(path string) ([]startedForest, error) {
	file, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer file.Close()
	var out []startedForest
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		fields := strings.SplitN(sc.Text(), " ", 3)
		if len(fields) != 3 {
			continue
		}
		pid, err := strconv.Atoi(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s: bad line %q", path, sc.Text())
		}
		out = append(out, startedForest{name: fields[0], pid: pid, dir: fields[2]})
	}
	return out, sc.Err()
}

func specNamed(name string) (forest.Spec, bool) {
	for _, s := range forest.Standard() {
		if s.Name == name {
			return s, true
		}
	}
	return forest.Spec{}, false
}

// downStarted stops the forests up -started listed, each only while it still
// runs with the PID listed, and says which forests it leaves running.
func downStarted(w *where, path string, stdout io.Writer) error {
	list, err := readStarted(path)
	if err != nil {
		return err
	}
	mine := map[string]bool{}
	var errs []error
	for _, s := range list {
		spec, ok := specNamed(s.name)
		if !ok {
			continue
		}
		mine[s.name] = true
		f := forest.New(spec, s.dir)
		pid, running := f.PID()
		switch {
		case !running:
			fmt.Fprintf(stdout, "%s: already stopped\n", f.Name)
		case pid != s.pid:
			fmt.Fprintf(stdout, "%s: left running (pid %d is not the pid %d that was started)\n", f.Name, pid, s.pid)
		default:
			err := f.Stop()
			errs = append(errs, err)
			if err == nil {
				fmt.Fprintf(stdout, "%s: stopped (pid %d)\n", f.Name, pid)
			}
		}
	}
	for _, s := range forest.Standard() {
		if mine[s.Name] {
			continue
		}
		if f := w.running(s); f != nil {
			pid, _ := f.PID()
			fmt.Fprintf(stdout, "%s: left running (pid %d): it was running already; %s stops it\n", f.Name, pid, stopHint(w, f))
		}
	}
	return errors.Join(errs...)
}

// stopHint is the command that stops a forest running from f.Dir.
func stopHint(w *where, f *forest.Forest) string {
	if filepath.Dir(f.Dir) == w.defaultDir {
		return "`make forests-down`"
	}
	return "`scripts/forests.sh down -dir " + filepath.Dir(f.Dir) + "`"
}

func describe(w io.Writer, f *forest.Forest) {
	l := forest.LayoutOf(f)
	fmt.Fprintf(w, `
%s (%s)
  DC            %s = %s (DNS: %s:53 serves the zone)
  LDAPS         %s   StartTLS: %s   CA: %s
  base DN       %s
  admin         %s / %s   (Enterprise + Domain Admin)
  existing acct %s / %s   (plain user)
  nested admin  %s / %s   (Domain Admin via %q)
  UPN suffixes  %s (routable), %s (non-routable)
`, f.Name, f.NetBIOS, f.DCHostName, f.IP, f.IP, f.LDAPSURL(), f.LDAPURL(), f.CACertPEM, f.BaseDN,
		f.AdminUPN, f.AdminPassword, l.SvcSyncUPN, forest.SvcSyncPassword,
		l.NestedAdminUPN, forest.NestedAdminPassword, forest.Tier0AdminsName,
		f.Spec.RoutableSuffix, f.Spec.NonRoutableSuffix)
}

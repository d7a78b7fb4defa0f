// Package configure is the Configure job: it applies what the wizard collected,
// step by step. Later capabilities (directories, tenant, sync) add steps here.
package configure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"time"

	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/schedule"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Kind is the job kind.
const Kind = "configure"

// Params is what a configure job is started with: a snapshot of the answers
// (passwords sealed), so that a retry applies exactly the same configuration.
type Params struct {
	Answers setup.Answers `json:"answers"`
}

// Deps are the configure job's dependencies.
type Deps struct {
	Store     *store.Store // the console's own store
	Box       *secret.Box
	DataDir   string
	InstallID string
	Checker   setup.Checker
	// Vault holds the enterprise admin credentials typed on Connect your
	// directories, in memory only.
	Vault *setup.Vault
	// Resolver finds domain controllers; nil is the system's resolver.
	Resolver *net.Resolver
	// Entra holds the administrator's Microsoft Entra sign-in (in memory) and
	// the cloud's addresses.
	Entra Sessions
	// Scheduler says whether this server runs cycles on the schedule, and
	// how often it checks whether one is due: what Configure promises.
	Scheduler Scheduler
	// FarmWait and FarmPoll: how long Configure waits for a new AD FS farm,
	// and how often it asks (zero: DefaultFarmWait, DefaultFarmPoll).
	FarmWait, FarmPoll time.Duration
}

// Scheduler is the server's scheduler as Configure describes it.
type Scheduler struct {
	On    bool
	Check time.Duration
}

// Type returns the job type.
func Type(d Deps) jobs.Type {
	return jobs.Type{
		Kind:  Kind,
		Title: "Configure",
		Steps: func(raw []byte) ([]jobs.Step, error) {
			var p Params
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("configure: bad params: %w", err)
			}
			c := &run{d: d, p: p}
			steps := []jobs.Step{{Name: "Prepare the sync database", Run: c.prepareDatabase}}
			steps = append(steps, c.cloudSteps()...)
			for i, fc := range p.Answers.Directories.Forests {
				name := "Verify the AD DS connector account of " + fc.Forest
				if fc.Account == setup.AccountCreate && fc.ConnectorUser == "" {
					name = "Create the AD DS connector account in " + fc.Forest
				}
				if !p.Answers.OUFiltering.SyncNewOUs {
					name += ", and record its OUs" // new OUs aren't synchronized (setup.ForestFilter.Known)
				}
				steps = append(steps, jobs.Step{Name: name, Run: func(ctx context.Context, r *jobs.Run) error { return c.connectForest(ctx, r, i) }})
			}
			steps = append(steps, c.ssoSteps()...)
			steps = append(steps, c.writebackSteps()...)
			steps = append(steps, c.federationSteps()...)
			if len(setup.Limitations(&p.Answers)) > 0 {
				steps = append(steps, jobs.Step{Name: "Name the chosen options hybridsync can't carry out", Run: c.limitations})
			}
			return append(steps,
				jobs.Step{Name: "Create the sync groups", Run: c.createGroups},
				jobs.Step{Name: "Save the active configuration", Run: c.saveConfiguration},
			), nil
		},
	}
}

type run struct {
	d Deps
	p Params
	// target says how to open the sync database when it is not the console's
	// own store; each step opens and closes it, so a failed step leaks nothing.
	target *store.Options
	// fedMeta is the federation server's metadata as a step read it, for
	// the step that federates the domain.
	fedMeta *setup.FedMetadata
}

func (c *run) prepareDatabase(ctx context.Context, r *jobs.Run) error {
	comp := c.p.Answers.Components
	switch {
	case comp.UseSQLServer:
		return c.prepareSQLServer(ctx, r, comp)
	case comp.CustomLocation && !sameDir(comp.Location, c.d.DataDir):
		r.Logf("Checking the installation location %s", comp.Location)
		if err := c.d.Checker.CheckLocation(ctx, comp.Location, false); err != nil {
			return err
		}
		path := store.SQLitePath(comp.Location)
		r.Logf("Opening the LocalDB at %s", path)
		return c.migrateTarget(ctx, r, store.Options{Dialect: store.SQLite, DSN: path})
	default:
		r.Logf("The sync database is the console's LocalDB (%s)", store.SQLitePath(c.d.DataDir))
		if c.d.Store.Dialect() == store.SQLServer {
			r.Logf("The console runs on SQL Server; the sync database is that database")
		}
		if err := c.d.Store.CheckSchema(ctx); err != nil {
			return err
		}
		applied, _, err := c.d.Store.SchemaVersion(ctx)
		if err != nil {
			return err
		}
		r.Logf("Schema is up to date (version %d)", applied)
		return nil
	}
}

func (c *run) prepareSQLServer(ctx context.Context, r *jobs.Run, comp setup.Components) error {
	pw, err := comp.SQLPasswordPlain(c.d.Box)
	if err != nil {
		return fmt.Errorf("the saved SQL password can't be read (was the secret key replaced?): %w", err)
	}
	r.Logf("Checking SQL Server %s, database %s", comp.SQLServer, comp.SQLDatabase)
	if err := c.d.Checker.CheckSQLServer(ctx, comp); err != nil {
		return err
	}
	if comp.SQLPermission == setup.PermissionSA {
		master, err := store.OpenServer(ctx, comp.SQLServerDSN(pw, "master"))
		if err != nil {
			return fmt.Errorf("unable to connect to SQL Server: %w", err)
		}
		defer master.Close()
		exists, err := store.DatabaseExists(ctx, master, comp.SQLDatabase)
		if err != nil {
			return err
		}
		if !exists {
			r.Logf("Creating the database %s (SA permissions)", comp.SQLDatabase)
			if err := store.CreateDatabase(ctx, master, comp.SQLDatabase); err != nil {
				return err
			}
		}
	} else {
		r.Logf("Using the database %s that your SQL administrator created (DBO permissions)", comp.SQLDatabase)
	}
	return c.migrateTarget(ctx, r, store.Options{Dialect: store.SQLServer, DSN: comp.SQLServerDSN(pw, comp.SQLDatabase)})
}

func (c *run) migrateTarget(ctx context.Context, r *jobs.Run, o store.Options) error {
	st, err := store.Open(ctx, o)
	if err != nil {
		return fmt.Errorf("unable to open the sync database: %w", err)
	}
	defer st.Close()
	holds, err := st.HoldsConfigurationOf(ctx, c.d.InstallID)
	if err != nil && !errors.Is(err, store.ErrNoSchema) {
		return err
	}
	if holds {
		return setup.ErrHoldsData
	}
	n, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	r.Logf("Applied %d schema migration(s)", n)
	c.target = &o
	return nil
}

func (c *run) createGroups(ctx context.Context, r *jobs.Run) error {
	names := c.p.Answers.Components.SyncGroupNames()
	if err := c.d.Store.SetSyncGroups(ctx, names); err != nil {
		return err
	}
	roles := make([]string, 0, len(names))
	for role := range names {
		roles = append(roles, role)
	}
	sort.Slice(roles, func(i, j int) bool { return order(roles[i]) < order(roles[j]) })
	for _, role := range roles {
		n, err := c.d.Store.CountRole(ctx, role)
		if err != nil {
			return err
		}
		r.Logf("%s: group %s (%d member(s))", auth.Role(role).Label(), names[role], n)
	}
	return nil
}

func order(role string) int {
	for i, r := range auth.Roles {
		if string(r) == role {
			return i
		}
	}
	return len(auth.Roles)
}

func (c *run) saveConfiguration(ctx context.Context, r *jobs.Run) error {
	answers, err := json.Marshal(c.p.Answers)
	if err != nil {
		return fmt.Errorf("unable to encode the configuration: %w", err)
	}
	cfg := store.Configuration{InstallID: c.d.InstallID, Answers: answers, AppliedBy: r.By, JobID: r.JobID}
	id, err := c.d.Store.SaveActiveConfiguration(ctx, cfg)
	if err != nil {
		return err
	}
	if c.target != nil {
		st, err := store.Open(ctx, *c.target)
		if err != nil {
			return fmt.Errorf("unable to open the sync database: %w", err)
		}
		_, err = st.SaveActiveConfiguration(ctx, cfg)
		st.Close()
		if err != nil {
			return fmt.Errorf("unable to record the configuration in the sync database: %w", err)
		}
		r.Logf("Recorded the configuration in the sync database")
	}
	r.Logf("Configuration %d is now active (applied by %s)", id, r.By)
	// What a cycle found standing under the configuration before (a domain
	// refusing ms-DS-ConsistencyGuid writes) may not stand under this one
	// (rights granted, a forest removed): the next cycle says again what
	// still does.
	r.ClearCondition(ConditionWriteback, true)
	a := c.p.Answers
	if a.Ready.Staging {
		r.Logf("Staging mode is on: nothing will be exported")
	}
	r.Logf("%s", c.whenSyncStarts(ctx))
	return nil
}

// ConditionWriteback prefixes the conditions of the domains that refuse
// ms-DS-ConsistencyGuid writes (the cycle meets them, Configure clears them).
const ConditionWriteback = "consistencyguid-refused/"

// whenSyncStarts says when the first cycle runs: what the scheduler of this
// server will do, not what it would do if it were on.
func (c *run) whenSyncStarts(ctx context.Context) string {
	if !c.p.Answers.Ready.StartSync {
		return "Synchronization was not set to start: run a cycle from Sync, or configure again with it selected"
	}
	if !c.d.Scheduler.On {
		return "Synchronization is set to start, but this server's scheduler is off (hybridsync serve --scheduler=false): run a cycle from Sync (Run a cycle now) or with hybridsync sync"
	}
	set, err := schedule.Load(ctx, c.d.Store)
	if err != nil {
		return "Synchronization starts on its schedule (the schedule could not be read: " + err.Error() + ")"
	}
	if set.Suspended {
		return "Synchronization is set to start, but the scheduler is suspended" + schedule.SuspendedBy(set) + ": resume it on Sync, or run a cycle now"
	}
	check := c.d.Scheduler.Check
	if check <= 0 {
		check = time.Minute
	}
	return fmt.Sprintf("Synchronization starts on its schedule: the first cycle runs at the scheduler's next check (within %s), then every %s", check, set.Interval)
}

// limitations names each chosen option whose effect hybridsync can't have:
// the configuration is applied, and its result says what is not done.
func (c *run) limitations(_ context.Context, r *jobs.Run) error {
	for _, l := range setup.Limitations(&c.p.Answers) {
		r.Logf("%s: %s", l.Feature, l.Does)
		r.Warn("limit/"+l.ID, l.Feature+": "+l.Cannot, l.Action)
	}
	return nil
}

func sameDir(a, b string) bool {
	ca, err1 := filepath.Abs(a)
	cb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && filepath.Clean(ca) == filepath.Clean(cb)
}

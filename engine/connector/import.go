package connector

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Space is what an import needs of the store (*store.Store has it).
type Space interface {
	ApplyCS(ctx context.Context, connector string, b store.CSBatch) (store.CSApplied, error)
	MarkCSDeleted(ctx context.Context, connector string, anchors []string, reason string) (int, error)
	SetCSPartitionOutOfScope(ctx context.Context, connector, partition, reason string) (int, error)
	CSLiveAnchors(ctx context.Context, connector, partition string) ([]string, error)
	CSObjects(ctx context.Context, connector string, anchors []string) ([]store.CSObject, error)
	CSObjectsByDN(ctx context.Context, connector string, dns []string) ([]store.CSObject, error)
	CSPartition(ctx context.Context, connector, partition string) (store.CSPartition, error)
	SaveCSPartition(ctx context.Context, p store.CSPartition) error
	CSConnectorState(ctx context.Context, connector string) (store.CSConnector, error)
	SaveCSConnectorState(ctx context.Context, c store.CSConnector) error
	CSContainers(ctx context.Context, connector, partition string) (map[string]string, error)
	SaveCSContainers(ctx context.Context, connector, partition string, containers map[string]string) error
	MoveCSSubtrees(ctx context.Context, connector, partition string, moves []store.CSMove, decide func(o *store.CSObject) (bool, string)) (int, error)
}

// Spec is one forest's import.
type Spec struct {
	// Forest is the forest as Connect your directories recorded it; its
	// connector account signs in with Password (the caller opens the sealed
	// ConnectorPassword with engine/secret).
	Forest   setup.ForestConn
	Password string
	// Scope is domain, OU and group filtering (ScopeFor).
	Scope Scope
	// Attributes are read besides BaseAttributes (SpecFor fills them in: the
	// alternate sign-in ID, matching and sourceAnchor attributes, directory
	// extensions); Binary names those of them that are binary.
	Attributes []string
	Binary     []string
	// Full asks for a full import even when a delta would do.
	Full bool
	// Resolver finds the domain controllers (nil: the system's).
	Resolver *net.Resolver
	// Progress, when set, is told a domain's store counts so far after each
	// batch the store took (Read: the objects written so far), from a
	// goroutine of that domain's; domains are imported in parallel.
	Progress func(DomainResult)
}

// SpecFor builds a forest's import from the wizard's answers.
func SpecFor(a *setup.Answers, forest, password string) (Spec, error) {
	var fc *setup.ForestConn
	for i := range a.Directories.Forests {
		if strings.EqualFold(a.Directories.Forests[i].Forest, forest) {
			fc = &a.Directories.Forests[i]
		}
	}
	if fc == nil {
		return Spec{}, fmt.Errorf("connector: %s is not a connected forest", forest)
	}
	s := Spec{Forest: *fc, Password: password, Scope: ScopeFor(a, fc.Forest)}
	for _, attr := range []string{a.SignInConfig.Attribute, a.Identifying.MatchingAttribute,
		a.Identifying.SourceAnchorAttribute, a.Identifying.Resolved} {
		if attr != "" {
			s.Attributes = append(s.Attributes, attr)
		}
	}
	for _, x := range a.Extensions.Selected {
		s.Attributes = append(s.Attributes, x.Name)
		if x.Type == setup.ExtBinary {
			s.Binary = append(s.Binary, x.Name)
		}
	}
	return s, nil
}

// Name is the connector's name: the forest's DNS name in lower case.
func (s Spec) Name() string { return strings.ToLower(strings.TrimSuffix(s.Forest.Forest, ".")) }

// Delta methods, as kept with the watermark.
const (
	MethodDirSync               = "dirsync"                 // "Replicating Directory Changes"
	MethodDirSyncObjectSecurity = "dirsync-object-security" // any account; sees what it may read
)

// Result says what an import did, per domain.
type Result struct {
	Connector string
	Domains   []DomainResult
	Took      time.Duration
}

// DomainResult is one domain partition's import.
type DomainResult struct {
	Domain string // DNS name
	DN     string
	DC     string
	// Mode is "full", "delta" or "skipped" (domain not selected); FullReason
	// says why a full import ran.
	Mode       string
	FullReason string
	Method     string
	// Read counts the entries the DC returned; ByClass the live objects read
	// by class (full imports).
	Read    int
	ByClass map[string]int
	// What the store changed.
	Added, Updated, Unchanged, Deleted int
	MembersAdded, MembersRemoved       int
	OutOfScope                         int // objects read that are out of scope
	RangedReads                        int // extra reads of member windows
	// Moved counts the objects whose DN a delta import changed because a
	// container above them was renamed or moved (DirSync reports the
	// container, which ObjectFilter drops, and not what it holds);
	// MovedContainers the containers whose DN changed (a moved OU's OUs
	// count too).
	Moved, MovedContainers int
	// ContainersListed counts the containers listed to find them (0 when
	// none changed since the last listing: listContainers).
	ContainersListed int
	Took             time.Duration
}

// Totals sums the domains' counts.
func (r Result) Totals() DomainResult {
	t := DomainResult{ByClass: map[string]int{}}
	for _, d := range r.Domains {
		t.Read += d.Read
		t.Added += d.Added
		t.Updated += d.Updated
		t.Unchanged += d.Unchanged
		t.Deleted += d.Deleted
		t.MembersAdded += d.MembersAdded
		t.MembersRemoved += d.MembersRemoved
		t.OutOfScope += d.OutOfScope
		t.RangedReads += d.RangedReads
		t.Moved += d.Moved
		t.MovedContainers += d.MovedContainers
		for k, v := range d.ByClass {
			t.ByClass[k] += v
		}
	}
	return t
}

// Import reads one forest into its connector space: for each domain (in
// parallel) a delta import with its DirSync cookie, or a full import when
// there is no cookie, the DC changed, the DC refused the cookie, the filters
// or attributes changed, the connector needs one, or spec.Full asks.
func Import(ctx context.Context, sp Space, spec Spec) (Result, error) {
	start := time.Now()
	name := spec.Name()
	res := Result{Connector: name}
	state, err := sp.CSConnectorState(ctx, name)
	if err != nil {
		return res, fmt.Errorf("connector: unable to read the state of %s: %w", name, err)
	}
	root, err := spec.dial(ctx, spec.Forest.Forest, spec.Forest.Host)
	if err != nil {
		return res, fmt.Errorf("connector: unable to connect to %s: %w", name, err)
	}
	defer root.Close()
	fi, err := root.Forest(ctx)
	if err != nil {
		return res, fmt.Errorf("connector: unable to read the domains of %s: %w", name, err)
	}
	domains := fi.Domains
	if len(spec.Forest.Domains) > 0 {
		domains = nil
		for _, d := range spec.Forest.Domains {
			domains = append(domains, directory.Domain{DNS: d.DNS, NetBIOS: d.NetBIOS, DN: d.DN, SID: d.SID})
		}
	}
	conns := map[string]*directory.Conn{}
	connFor := func(d directory.Domain) (*directory.Conn, error) {
		if strings.EqualFold(d.DN, fi.RootDomainNC) || len(domains) == 1 {
			return root, nil
		}
		c, err := spec.dial(ctx, d.DNS, "")
		if err != nil {
			return nil, err
		}
		conns[d.DN] = c
		return c, nil
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()

	scope := spec.Scope
	if scope.PilotGroup != "" {
		members, err := readPilot(ctx, scope.PilotGroup, domains, connFor)
		if err != nil {
			return res, err
		}
		scope.SetPilotMembers(members)
	}
	attrs := attributeList(spec.Attributes, true)
	binary := map[string]bool{}
	for _, b := range spec.Binary {
		binary[strings.ToLower(b)] = true
	}
	config := fingerprint(spec.Scope, attrs)

	res.Domains = make([]DomainResult, len(domains))
	errs := make([]error, len(domains))
	var wg sync.WaitGroup
	for i, d := range domains {
		res.Domains[i] = DomainResult{Domain: d.DNS, DN: d.DN, ByClass: map[string]int{}}
		if !scope.DomainSelected(d.DN) {
			res.Domains[i].Mode = "skipped"
			n, err := sp.SetCSPartitionOutOfScope(ctx, name, d.DN, sprintf(ReasonDomainNotSel, d.DN))
			res.Domains[i].Updated, errs[i] = n, err
			continue
		}
		conn, err := connFor(d)
		if err != nil {
			errs[i] = fmt.Errorf("connector: unable to connect to the domain %s: %w", d.DNS, err)
			continue
		}
		forest := d.DNS
		if conn == root {
			forest = spec.Forest.Forest
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			again := func(ctx context.Context) (*directory.Conn, error) { return spec.dial(ctx, forest, conn.DC()) }
			im := &domainImport{sp: sp, conn: conn, connector: name, domain: d, scope: scope, attrs: attrs,
				binary: binary, config: config, res: &res.Domains[i], again: again, progress: spec.Progress}
			errs[i] = im.run(ctx, spec.Full, state)
		}()
	}
	wg.Wait()
	res.Took = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	now := time.Now()
	for _, d := range res.Domains {
		switch d.Mode {
		case "full":
			state.LastFullAt = now
		case "delta":
			state.LastDeltaAt = now
		}
	}
	state.NeedsFull, state.NeedsReason = false, ""
	if err := sp.SaveCSConnectorState(ctx, state); err != nil {
		return res, fmt.Errorf("connector: unable to save the state of %s: %w", name, err)
	}
	return res, nil
}

func (s Spec) dial(ctx context.Context, forest, host string) (*directory.Conn, error) {
	t := directory.Target{Forest: forest, Host: host, Security: directory.Security(s.Forest.Security),
		CAPEM: []byte(s.Forest.CAPEM), Resolver: s.Resolver}
	return directory.Dial(ctx, t, s.Forest.ConnectorUser, s.Password)
}

// readPilot reads the pilot group's direct members, in ranged windows, from
// the domain that holds it.
func readPilot(ctx context.Context, dn string, domains []directory.Domain, connFor func(directory.Domain) (*directory.Conn, error)) ([]string, error) {
	var home *directory.Domain
	for i, d := range domains {
		if strings.HasSuffix(strings.ToLower(dn), ","+strings.ToLower(d.DN)) && (home == nil || len(d.DN) > len(home.DN)) {
			home = &domains[i]
		}
	}
	if home == nil {
		return nil, fmt.Errorf("connector: the pilot group %s is in none of the forest's domains", dn)
	}
	conn, err := connFor(*home)
	if err != nil {
		return nil, fmt.Errorf("connector: unable to connect to the domain of the pilot group: %w", err)
	}
	members, _, err := conn.ReadRanged(ctx, dn, "member", 0)
	if err != nil {
		return nil, fmt.Errorf("connector: unable to read the members of the pilot group %s: %w", dn, err)
	}
	return members, nil
}

// fingerprint names what an import was asked for: a different answer means
// the connector space must be read in full again.
func fingerprint(s Scope, attrs []string) string {
	h := sha256.New()
	ex := slices.Clone(s.Filter.Excluded)
	ex = append(ex, s.Filter.Unreachable...)
	for i := range ex {
		ex[i] = strings.ToLower(ex[i])
	}
	sort.Strings(ex)
	fmt.Fprintf(h, "excluded:%q\npilot:%q\n", ex, strings.ToLower(s.PilotGroup))
	// The containers Configure recorded with "Sync all new OUs" off: a new
	// recording takes in OUs whose objects a delta would never bring back.
	// Written only when there are some, so other fingerprints stay as they were.
	if len(s.Filter.Known) > 0 {
		kn := make([]string, len(s.Filter.Known))
		for i, dn := range s.Filter.Known {
			kn[i] = setup.DNKey(dn)
		}
		sort.Strings(kn)
		fmt.Fprintf(h, "known:%q\n", kn)
	}
	a := slices.Clone(attrs)
	sort.Strings(a)
	fmt.Fprintf(h, "attrs:%q\n", a)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// batchSize is how many objects one store transaction writes.
const batchSize = 1000

// domainImport is one domain partition's import.
type domainImport struct {
	sp        Space
	conn      *directory.Conn
	connector string
	domain    directory.Domain
	scope     Scope
	attrs     []string
	binary    map[string]bool
	config    string
	res       *DomainResult
	// again dials the domain controller of conn once more (nil: don't).
	again func(context.Context) (*directory.Conn, error)
	// progress is Spec.Progress; written counts the objects apply wrote,
	// for it.
	progress func(DomainResult)
	written  int
}

func (im *domainImport) run(ctx context.Context, forceFull bool, state store.CSConnector) error {
	start := time.Now()
	defer func() { im.res.Took = time.Since(start) }()
	dc, err := im.conn.DCName(ctx)
	if err != nil {
		return fmt.Errorf("connector: unable to identify the domain controller of %s: %w", im.domain.DNS, err)
	}
	im.res.DC = dc
	part, err := im.sp.CSPartition(ctx, im.connector, im.domain.DN)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("connector: unable to read the watermark of %s: %w", im.domain.DNS, err)
	}
	reason := ""
	switch {
	case forceFull:
		reason = "A full import was asked for."
	case state.NeedsFull:
		reason = "The configuration changed: " + state.NeedsReason
	case part.Cookie == "":
		reason = "No delta watermark yet: the first import of this domain is a full one."
	case !strings.EqualFold(part.DC, dc):
		reason = fmt.Sprintf("The domain controller changed (from %s to %s): a DirSync cookie is only valid on the DC that issued it.", part.DC, dc)
	case part.Config != im.config:
		reason = "Domain and OU filtering, group filtering or the attributes read changed since the last import."
	}
	if reason == "" {
		err := im.delta(ctx, part, dc)
		if err == nil {
			return nil
		}
		if !errors.Is(err, directory.ErrCookieRefused) {
			return err
		}
		*im.res = DomainResult{Domain: im.domain.DNS, DN: im.domain.DN, DC: dc, ByClass: map[string]int{}}
		reason = "The domain controller refused the DirSync cookie; a full import replaces it."
	}
	im.res.FullReason = reason
	return im.full(ctx, dc)
}

// startCookie asks for a DirSync cookie that stands for now, with the flags
// the account may use: a DirSync request for nothing returns no entries and
// the current watermark. Asked before a full import reads, so that what
// changes while it reads comes again with the next delta.
func (im *domainImport) startCookie(ctx context.Context) ([]byte, string, error) {
	flags := directory.DirSyncIncrementalValues
	cookie, err := im.conn.DirSync(ctx, im.domain.DN, directory.NothingFilter, []string{"objectGUID"}, flags, nil, func([]*ldap.Entry) error { return nil })
	if err == nil {
		return cookie, MethodDirSync, nil
	}
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		return nil, "", fmt.Errorf("connector: unable to start DirSync on %s: %w", im.domain.DNS, err)
	}
	// Without "Replicating Directory Changes" the DC refuses plain DirSync;
	// the object-security flag works for any account.
	cookie, err = im.conn.DirSync(ctx, im.domain.DN, directory.NothingFilter, []string{"objectGUID"},
		flags|directory.DirSyncObjectSecurity, nil, func([]*ldap.Entry) error { return nil })
	if err != nil {
		return nil, "", fmt.Errorf("connector: unable to start DirSync on %s: %w", im.domain.DNS, err)
	}
	return cookie, MethodDirSyncObjectSecurity, nil
}

func methodFlags(m string) int64 {
	if m == MethodDirSyncObjectSecurity {
		return directory.DirSyncIncrementalValues | directory.DirSyncObjectSecurity
	}
	return directory.DirSyncIncrementalValues
}

// full reads the whole domain, page by page, writing each page as it comes;
// then marks what it did not see deleted.
func (im *domainImport) full(ctx context.Context, dc string) error {
	im.res.Mode = "full"
	// The other connections are dialled while the DirSync cookie is asked for.
	dialed := make(chan []*directory.Conn, 1)
	go func() { dialed <- im.moreConns(ctx) }()
	// So are the containers listed (the record delta imports compare with),
	// over the same connection. The listing ends before the objects are
	// read: a container renamed while they are read then differs from the
	// record at the next delta, which moves what was read below its former
	// DN (listed after, the record could already hold the new DN).
	listed := im.listContainers(ctx, 0)
	cookie, method, err := im.startCookie(ctx)
	more := <-dialed
	for _, c := range more {
		defer c.Close()
	}
	containers := <-listed
	if err != nil {
		return err
	}
	if containers.err != nil {
		return fmt.Errorf("connector: unable to list the containers of %s: %w", im.domain.DNS, containers.err)
	}
	im.res.Method, im.res.ContainersListed = method, len(containers.guids)
	seen := map[string]bool{}
	// The store writes one page while the next is read: the DC's time and
	// ours overlap.
	batches := make(chan store.CSBatch, 2)
	writeErr := make(chan error, 1)
	go func() {
		var err error
		for b := range batches {
			if err == nil {
				err = im.apply(ctx, b)
			}
		}
		writeErr <- err
	}()
	send := func(b store.CSBatch) error {
		select {
		case batches <- b:
			return nil
		case err := <-writeErr:
			writeErr <- err
			return err
		}
	}
	// Groups with more members than one window are written last: reading
	// the rest of their members while the paged search runs would wait
	// behind the page the DC is building (ReadPages asks for it ahead).
	type bigGroup struct {
		o    *Object
		more int
	}
	var big []bigGroup
	conns, filters := im.splitRead(ctx, more)
	err = directory.ReadPagesSplit(ctx, conns, im.domain.DN, filters, im.attrs, func(entries []*ldap.Entry) error {
		b := store.CSBatch{Objects: make([]store.CSObject, 0, len(entries)), Members: map[string][]string{}}
		for _, e := range entries {
			im.res.Read++
			o, more, err := im.object(e)
			if err != nil {
				return err
			}
			if o == nil || seen[o.Anchor] {
				continue
			}
			seen[o.Anchor] = true
			im.res.ByClass[o.Class]++
			if !o.InScope {
				im.res.OutOfScope++
			}
			if more >= 0 {
				big = append(big, bigGroup{o, more})
				continue
			}
			b.Objects = append(b.Objects, toRow(o, im.domain.DN))
			if o.Class == ClassGroup {
				b.Members[o.Anchor] = o.Members
			}
		}
		return send(b)
	})
	if err == nil && len(big) > 0 {
		b := store.CSBatch{Members: map[string][]string{}}
		for _, g := range big {
			if err = im.moreMembers(ctx, g.o, g.more); err != nil {
				break
			}
			b.Objects = append(b.Objects, toRow(g.o, im.domain.DN))
			if g.o.Class == ClassGroup {
				b.Members[g.o.Anchor] = g.o.Members
			}
		}
		if err == nil {
			err = send(b)
		}
	}
	close(batches)
	if werr := <-writeErr; werr != nil && err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("connector: unable to import %s: %w", im.domain.DNS, err)
	}
	if err := im.markGone(ctx, seen, ReasonGone); err != nil {
		return err
	}
	if err := im.sp.SaveCSContainers(ctx, im.connector, im.domain.DN, containers.guids); err != nil {
		return fmt.Errorf("connector: unable to record the containers of %s: %w", im.domain.DNS, err)
	}
	return im.saveWatermark(ctx, dc, method, cookie, containers.usn)
}

// Reading a full import in parts: readConns connections to the DC, each
// running one part's paged search at a time, of splitParts parts.
const (
	readConns  = 2
	splitParts = 5
)

// splitRead is how a full import reads: over im.conn and more (moreConns:
// the same DC), with ObjectFilter split by uSNCreated (which a modification
// never changes, so an object can't move between parts while they are read)
// into splitParts-1 ranges of the USNs issued so far and one part for what is
// created meanwhile. The point: the DC builds one part's page while we
// decode another's. BenchmarkImportVsLdapsearch (Samba 4.17, 5,722 entries,
// a shared 2-core machine, runs interleaved) measured one search at a median
// 0.73× ldapsearch (0.57–0.86) and this at 0.90× (0.59–1.35); each part costs
// Samba a scan of its objectClass index (~16 ms here), hence few parts. With one connection, or without the DC's highest committed USN,
// it is one search.
func (im *domainImport) splitRead(ctx context.Context, more []*directory.Conn) ([]*directory.Conn, []string) {
	conns := append([]*directory.Conn{im.conn}, more...)
	if len(conns) == 1 {
		return conns, []string{ObjectFilter}
	}
	usn, err := im.conn.HighestCommittedUSN(ctx)
	if err != nil {
		slog.Warn("connector: reading the full import in one part", "domain", im.domain.DNS, "err", err)
		return conns, []string{ObjectFilter}
	}
	return conns, usnParts(ObjectFilter, usn, splitParts)
}

// moreConns dials the DC of im.conn readConns-1 more times (fewer when it
// fails: the import then reads over what it has).
func (im *domainImport) moreConns(ctx context.Context) []*directory.Conn {
	var out []*directory.Conn
	for len(out) < readConns-1 && im.again != nil {
		c, err := im.again(ctx)
		if err != nil {
			slog.Warn("connector: one more connection for the full import failed; reading over fewer",
				"domain", im.domain.DNS, "err", err)
			break
		}
		out = append(out, c)
	}
	return out
}

// usnParts splits filter into parts filters by uSNCreated: parts-1 equal
// ranges of [0, usn] and everything above (usnBounds). Only <= and its
// negation are used, so that every object (uSNCreated is single-valued, an
// integer with an ordering rule) matches exactly one of them.
func usnParts(filter string, usn int64, parts int) []string {
	bounds := usnBounds(usn, parts)
	if len(bounds) == 0 {
		return []string{filter}
	}
	out := make([]string, 0, len(bounds)+1)
	for i, hi := range bounds {
		if i == 0 {
			out = append(out, fmt.Sprintf("(&%s(uSNCreated<=%d))", filter, hi))
		} else {
			out = append(out, fmt.Sprintf("(&%s(!(uSNCreated<=%d))(uSNCreated<=%d))", filter, bounds[i-1], hi))
		}
	}
	return append(out, fmt.Sprintf("(&%s(!(uSNCreated<=%d)))", filter, bounds[len(bounds)-1]))
}

// usnBounds are the upper bounds of usnParts' ranges: increasing, the last
// one usn (none when usn is too small to split).
func usnBounds(usn int64, parts int) []int64 {
	if parts < 2 || usn < int64(parts) {
		return nil
	}
	out := make([]int64, 0, parts-1)
	for i := 1; i < parts; i++ {
		out = append(out, usn*int64(i)/int64(parts-1))
	}
	return out
}

func (im *domainImport) saveWatermark(ctx context.Context, dc, method string, cookie []byte, containersUSN int64) error {
	err := im.sp.SaveCSPartition(ctx, store.CSPartition{Connector: im.connector, Partition: im.domain.DN, DC: dc,
		Method: method, Cookie: base64.StdEncoding.EncodeToString(cookie), Config: im.config, ContainersUSN: containersUSN})
	if err != nil {
		return fmt.Errorf("connector: unable to save the watermark of %s: %w", im.domain.DNS, err)
	}
	return nil
}

func (im *domainImport) apply(ctx context.Context, b store.CSBatch) error {
	n, err := im.sp.ApplyCS(ctx, im.connector, b)
	if err != nil {
		return fmt.Errorf("connector: unable to write the connector space of %s: %w", im.domain.DNS, err)
	}
	im.res.Added += n.Added
	im.res.Updated += n.Updated
	im.res.Unchanged += n.Unchanged
	im.res.MembersAdded += n.MembersAdded
	im.res.MembersRemoved += n.MembersRemoved
	im.written += len(b.Objects)
	if im.progress != nil {
		// Only what apply itself counts: a full import reads the next page
		// (Read, ByClass, OutOfScope) on another goroutine meanwhile.
		r := im.res
		im.progress(DomainResult{Domain: r.Domain, DN: r.DN, Read: im.written, Added: r.Added, Updated: r.Updated, Unchanged: r.Unchanged,
			MembersAdded: r.MembersAdded, MembersRemoved: r.MembersRemoved})
	}
	return nil
}

// object turns a full entry into an Object with its scope and the members of
// a group's first window (o.Members). It returns nil for an entry of none of
// the four classes. When the window was not the last, more is the index of
// the first member not read yet (moreMembers reads them), else -1.
func (im *domainImport) object(e *ldap.Entry) (o *Object, more int, err error) {
	v, err := readEntry(e, im.binary)
	if err != nil {
		return nil, -1, err
	}
	o = &Object{Connector: im.connector, Anchor: v.guid, DN: e.DN, Class: classOf(v.attrs["objectclass"]), Attrs: v.attrs, USN: v.usn}
	if o.Class == "" {
		return nil, -1, nil
	}
	more = -1
	if plain, ok := o.Attrs["member"]; ok { // a DC that ignored the range
		o.Members = plain
		delete(o.Attrs, "member")
	}
	for name, vals := range v.ranged {
		base, _, last, _ := directory.ParseRange(name)
		if base != "member" {
			continue
		}
		o.Members = append(o.Members, vals...)
		if last >= 0 && len(vals) > 0 {
			more = last + 1
		}
	}
	o.InScope, o.Reason = im.scope.DecideObject(o, im.domain.DN)
	return o, more, nil
}

// moreMembers reads the rest of a group's members from index from on, in
// ranged windows.
func (im *domainImport) moreMembers(ctx context.Context, o *Object, from int) error {
	rest, reads, err := im.conn.ReadRanged(ctx, o.DN, "member", from)
	if err != nil {
		return fmt.Errorf("connector: unable to read the members of %s: %w", o.DN, err)
	}
	im.res.RangedReads += reads
	o.Members = append(o.Members, rest...)
	return nil
}

// toRow is o as the store keeps it, in the partition (domain DN) it was read from.
func toRow(o *Object, partition string) store.CSObject {
	return store.CSObject{Connector: o.Connector, Anchor: o.Anchor, Partition: partition, DN: o.DN, Class: o.Class,
		Attrs: o.Attrs, USN: o.USN, InScope: o.InScope, Reason: o.Reason, Deleted: o.Deleted}
}

// FromRow is a stored connector space object (without its members, which
// the store keeps apart: store.CSMembers).
func FromRow(r store.CSObject) *Object {
	attrs := maps.Clone(r.Attrs)
	if attrs == nil {
		attrs = map[string][]string{}
	}
	return &Object{Connector: r.Connector, Anchor: r.Anchor, DN: r.DN, Class: r.Class, Attrs: attrs,
		USN: r.USN, InScope: r.InScope, Reason: r.Reason, Deleted: r.Deleted}
}

// delta reads the changes since the watermark with DirSync and applies them.
func (im *domainImport) delta(ctx context.Context, part store.CSPartition, dc string) error {
	im.res.Mode, im.res.Method = "delta", part.Method
	cookie, err := base64.StdEncoding.DecodeString(part.Cookie)
	if err != nil {
		return fmt.Errorf("connector: %w: the stored cookie of %s is not base64", directory.ErrCookieRefused, im.domain.DNS)
	}
	// The containers are listed, when some changed, while DirSync reads: on
	// a DC of its own the listing's time hides behind the read's.
	containers := im.listContainers(ctx, part.ContainersUSN)
	var entries []*ldap.Entry
	attrs := append(attributeList(nil, false), "isDeleted")
	for _, a := range im.attrs {
		if !slices.ContainsFunc(attrs, func(x string) bool { return strings.EqualFold(x, a) }) && !strings.HasPrefix(strings.ToLower(a), "member;") {
			attrs = append(attrs, a)
		}
	}
	next, err := im.conn.DirSync(ctx, im.domain.DN, ObjectFilter, attrs, methodFlags(part.Method), cookie, func(es []*ldap.Entry) error {
		entries = append(entries, es...)
		return nil
	})
	if err != nil {
		if errors.Is(err, directory.ErrCookieRefused) {
			return err
		}
		return fmt.Errorf("connector: unable to read the changes of %s: %w", im.domain.DNS, err)
	}
	im.res.Read = len(entries)

	// The pilot group's own changes first: they move other objects in or
	// out of scope.
	var affected []string
	parsed := make([]entryValues, len(entries))
	for i, e := range entries {
		v, err := readEntry(e, im.binary)
		if err != nil {
			return err
		}
		parsed[i] = v
		if !im.scope.IsPilot(e.DN) {
			continue
		}
		for name, vals := range v.ranged {
			base, first, last, _ := directory.ParseRange(name)
			if base != "member" {
				continue
			}
			for _, dn := range vals {
				if first == 1 && last == 1 {
					im.scope.AddPilotMember(dn)
				} else if first == 0 && last == 0 {
					im.scope.RemovePilotMember(dn)
				}
				affected = append(affected, dn)
			}
		}
	}

	// Before the entries: an object that changed in a moved OU then
	// finds its row at its new DN.
	listed := <-containers
	if listed.err != nil {
		return fmt.Errorf("connector: unable to list the containers of %s: %w", im.domain.DNS, listed.err)
	}
	if listed.guids != nil {
		im.res.ContainersListed = len(listed.guids)
		if err := im.followContainers(ctx, listed.guids); err != nil {
			return err
		}
	}
	touched := map[string]bool{}
	for start := 0; start < len(entries); start += batchSize {
		end := min(start+batchSize, len(entries))
		if err := im.deltaBatch(ctx, entries[start:end], parsed[start:end], touched); err != nil {
			return err
		}
	}
	// Objects whose pilot membership changed but that did not change themselves.
	if len(affected) > 0 {
		rows, err := im.sp.CSObjectsByDN(ctx, im.connector, affected)
		if err != nil {
			return fmt.Errorf("connector: unable to read the pilot group's members: %w", err)
		}
		b := store.CSBatch{}
		for _, r := range rows {
			if touched[r.Anchor] || r.Partition != im.domain.DN {
				continue
			}
			o := FromRow(r)
			o.InScope, o.Reason = im.scope.DecideObject(o, im.domain.DN)
			b.Objects = append(b.Objects, toRow(o, im.domain.DN))
		}
		if err := im.apply(ctx, b); err != nil {
			return err
		}
	}
	// DirSync hands deletions over only to an account that may read Deleted
	// Objects: with the object-security flag never, and on Samba (4.17) not
	// even with "Replicating Directory Changes" unless the account is an
	// administrator. So every delta also lists the anchors that still exist
	// (objectGUID only, paged) and marks the others deleted.
	if err := im.sweep(ctx, ReasonDeleted); err != nil {
		return err
	}
	return im.saveWatermark(ctx, dc, part.Method, next, listed.usn)
}

// containerListing is the domain's containers, DN by objectGUID (nil when
// none changed since the last listing), and the DC's highestCommittedUSN
// read before; or why they could not be listed.
type containerListing struct {
	guids map[string]string
	usn   int64
	err   error
}

// listContainers lists the domain's containers over im.conn in the
// background (go-ldap multiplexes one connection). With since (the USN
// before the last listing, 0: none) it first asks for the containers changed
// after it, and lists them all only when there are some: renamed, moved,
// created or otherwise modified (a GPO link). Measured on Samba 4.17 (this
// package's BenchmarkDeltaContainerListing: 2,125 containers, 1,722 objects,
// a shared 2-core machine, runs interleaved): the whole listing takes
// 0.26–0.43 s, as long as the sweep's listing of every object, and listed at
// every delta it doubled a delta import with nothing changed (0.71–0.82 s
// against 0.33–0.37 s without it); the search for changed containers takes
// 0.6 ms, and a delta import with it 0.30–0.34 s (0.31–0.38 s without it:
// within the noise). Not under a context of its own:
// cancelling one closes the connection (Conn.guard), which a full import
// after a refused cookie reuses.
func (im *domainImport) listContainers(ctx context.Context, since int64) <-chan containerListing {
	out := make(chan containerListing, 1)
	go func() {
		l := containerListing{}
		// Read first: whatever changes while the containers are listed has a
		// higher USN, so the next delta asks again.
		l.usn, l.err = im.conn.HighestCommittedUSN(ctx)
		if l.err == nil && since > 0 {
			var changed map[string]string
			changed, l.err = im.conn.ContainerGUIDsChangedAfter(ctx, im.domain.DN, since)
			if l.err == nil && len(changed) == 0 {
				out <- l
				return
			}
		}
		if l.err == nil {
			l.guids, l.err = im.conn.ContainerGUIDs(ctx, im.domain.DN)
		}
		out <- l
	}()
	return out
}

// followContainers finds the containers renamed or moved since the record of
// the last import (now is the domain's containers, DN by objectGUID:
// directory.ContainerGUIDs) and moves the connector space rows below them to
// their new DNs, their scope decided again: DirSync tells of the container
// alone, which ObjectFilter drops. Every container still there is passed to
// the store, so that each object follows its nearest container (nested
// renames, a container that kept its DN below one that moved); deleted ones
// just leave the record. The first delta after the record was introduced
// (migration 009) only writes it.
func (im *domainImport) followContainers(ctx context.Context, now map[string]string) error {
	record, err := im.sp.CSContainers(ctx, im.connector, im.domain.DN)
	if err != nil {
		return fmt.Errorf("connector: unable to read the containers of %s: %w", im.domain.DNS, err)
	}
	moves := make([]store.CSMove, 0, len(record))
	changed := 0
	for g, old := range record {
		dn, ok := now[g]
		if !ok {
			continue
		}
		moves = append(moves, store.CSMove{Old: old, New: dn})
		if dn != old {
			changed++
		}
	}
	if changed > 0 {
		// By the object, not its DN alone: a group written back from the
		// tenant stays out of scope in its OU's new place.
		n, err := im.sp.MoveCSSubtrees(ctx, im.connector, im.domain.DN, moves, func(o *store.CSObject) (bool, string) {
			return im.scope.DecideObject(&Object{DN: o.DN, Class: o.Class, Attrs: o.Attrs}, im.domain.DN)
		})
		if err != nil {
			return fmt.Errorf("connector: unable to follow the renamed or moved containers of %s: %w", im.domain.DNS, err)
		}
		im.res.Moved += n
		im.res.MovedContainers += changed
	}
	if maps.Equal(record, now) {
		return nil
	}
	if err := im.sp.SaveCSContainers(ctx, im.connector, im.domain.DN, now); err != nil {
		return fmt.Errorf("connector: unable to record the containers of %s: %w", im.domain.DNS, err)
	}
	return nil
}

// sweep marks deleted the live objects of the connector space that the domain
// no longer holds, listing only objectGUIDs.
func (im *domainImport) sweep(ctx context.Context, reason string) error {
	seen := map[string]bool{}
	err := im.conn.ReadPages(ctx, im.domain.DN, ObjectFilter, []string{"objectGUID"}, func(entries []*ldap.Entry) error {
		for _, e := range entries {
			if g, err := FormatGUID(e.GetRawAttributeValue("objectGUID")); err == nil {
				seen[g] = true
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("connector: unable to list the objects of %s: %w", im.domain.DNS, err)
	}
	return im.markGone(ctx, seen, reason)
}

func (im *domainImport) markGone(ctx context.Context, seen map[string]bool, reason string) error {
	live, err := im.sp.CSLiveAnchors(ctx, im.connector, im.domain.DN)
	if err != nil {
		return fmt.Errorf("connector: unable to list the connector space of %s: %w", im.domain.DNS, err)
	}
	var gone []string
	for _, a := range live {
		if !seen[a] {
			gone = append(gone, a)
		}
	}
	if len(gone) == 0 {
		return nil
	}
	n, err := im.sp.MarkCSDeleted(ctx, im.connector, gone, reason)
	if err != nil {
		return fmt.Errorf("connector: unable to mark what %s no longer holds: %w", im.domain.DNS, err)
	}
	im.res.Deleted += n
	return nil
}

func (im *domainImport) deltaBatch(ctx context.Context, entries []*ldap.Entry, parsed []entryValues, touched map[string]bool) error {
	anchors := make([]string, len(parsed))
	for i, v := range parsed {
		anchors[i] = v.guid
	}
	rows, err := im.sp.CSObjects(ctx, im.connector, anchors)
	if err != nil {
		return fmt.Errorf("connector: unable to read the connector space of %s: %w", im.domain.DNS, err)
	}
	stored := make(map[string]store.CSObject, len(rows))
	for _, r := range rows {
		stored[r.Anchor] = r
	}
	b := store.CSBatch{Members: map[string][]string{}}
	for i, e := range entries {
		v := parsed[i]
		old, known := stored[v.guid]
		touched[v.guid] = true
		if strings.EqualFold(first(v.attrs["isdeleted"]), "TRUE") {
			if !known || old.Deleted {
				continue // never imported, or already gone
			}
			o := FromRow(old)
			o.Deleted, o.InScope, o.Reason = true, false, ReasonDeleted
			b.Objects = append(b.Objects, toRow(o, im.domain.DN))
			b.Unlink = append(b.Unlink, old.DN)
			if o.Class == ClassGroup {
				b.Members[o.Anchor] = nil
			}
			im.res.Deleted++
			continue
		}
		if !known || old.Deleted {
			// New to the connector space (or back from the deleted): read it
			// whole, members too.
			full, err := im.conn.ReadObject(ctx, e.DN, im.attrs)
			if err != nil {
				return fmt.Errorf("connector: unable to read %s: %w", e.DN, err)
			}
			o, more, err := im.object(full)
			if err != nil {
				return err
			}
			if o == nil {
				continue
			}
			if more >= 0 {
				if err := im.moreMembers(ctx, o, more); err != nil {
					return err
				}
			}
			if !o.InScope {
				im.res.OutOfScope++
			}
			b.Objects = append(b.Objects, toRow(o, im.domain.DN))
			if o.Class == ClassGroup {
				b.Members[o.Anchor] = o.Members
			}
			continue
		}
		o := FromRow(old)
		if !strings.EqualFold(o.DN, e.DN) || o.DN != e.DN {
			b.Renames = append(b.Renames, store.CSRename{Old: o.DN, New: e.DN})
			o.DN = e.DN
		}
		for name, vals := range v.attrs {
			switch {
			case name == "isdeleted":
			case name == "member": // the whole list (no incremental values)
				b.Members[o.Anchor] = vals
			case len(vals) == 0:
				delete(o.Attrs, name)
			default:
				o.Attrs[name] = vals
			}
		}
		if v.usn != 0 {
			o.USN = v.usn
		}
		for name, vals := range v.ranged {
			base, first, last, _ := directory.ParseRange(name)
			if base != "member" {
				continue
			}
			for _, dn := range vals {
				switch {
				case first == 1 && last == 1:
					b.MemberAdds = append(b.MemberAdds, store.CSMember{GroupAnchor: o.Anchor, MemberDN: dn})
				case first == 0 && last == 0:
					b.MemberRemoves = append(b.MemberRemoves, store.CSMember{GroupAnchor: o.Anchor, MemberDN: dn})
				}
			}
		}
		o.InScope, o.Reason = im.scope.DecideObject(o, im.domain.DN)
		if !o.InScope {
			im.res.OutOfScope++
		}
		b.Objects = append(b.Objects, toRow(o, im.domain.DN))
	}
	return im.apply(ctx, b)
}

func first(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

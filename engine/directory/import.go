package directory

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// What an import (engine/connector) reads with: paged subtree searches that
// hand each page over as it arrives, ranged reads of large multi-valued
// attributes, and the DirSync control for deltas.

// PageSize is the page size of ReadPages: AD's default MaxPageSize.
const PageSize = 1000

// ReadPages runs a subtree search under base, PageSize entries a page, and
// calls fn with each page as it arrives (so a big domain is never held in
// memory at once). The next page is asked for before fn runs, so that the DC
// builds it while fn works on this one (a DC sends a page only once it has
// built all of it). fn runs on the caller's goroutine, one page at a time,
// in order. An error from fn stops the search and is returned as is.
func (c *Conn) ReadPages(ctx context.Context, base, filter string, attrs []string, fn func([]*ldap.Entry) error) error {
	type page struct {
		res *ldap.SearchResult
		err error
	}
	fetch := func(cookie []byte) <-chan page {
		paging := ldap.NewControlPaging(PageSize)
		paging.SetCookie(cookie)
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, attrs, []ldap.Control{paging})
		ch := make(chan page, 1)
		go func() {
			var p page
			c.guard(ctx, func() { p.res, p.err = c.l.Search(req) })
			ch <- p
		}()
		return ch
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	next := fetch(nil)
	for next != nil {
		p := <-next
		next = nil
		if p.err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w (%v)", ctx.Err(), p.err)
			}
			return opError(p.err, "read the objects under %s", base)
		}
		if pc, ok := ldap.FindControl(p.res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging); ok && len(pc.Cookie) > 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			next = fetch(pc.Cookie)
		}
		if err := fn(p.res.Entries); err != nil {
			if next != nil {
				<-next // the page asked for ahead: nobody reads it
			}
			return err
		}
	}
	return nil
}

// ReadRanged reads the values of attr of dn from index start on, in windows of
// MemberWindow (attr;range=start-…), following the DC's ranges until it marks
// the last window with "-*". It returns the values and how many reads it took.
// See DirectMemberCount for why the windows are always asked for.
func (c *Conn) ReadRanged(ctx context.Context, dn, attr string, start int) ([]string, int, error) {
	var out []string
	for reads := 1; ; reads++ {
		if reads > 100000 {
			return nil, reads, fmt.Errorf("directory: %s of %s: no end marker after %d windows", attr, dn, reads)
		}
		name := fmt.Sprintf("%s;range=%d-%d", attr, start, start+MemberWindow-1)
		e, err := c.readEntry(ctx, dn, []string{name})
		if err != nil {
			return nil, reads, opError(err, "read %s of %s", attr, dn)
		}
		values, next, done := RangedWindow(e, attr, start)
		out = append(out, values...)
		if done {
			return out, reads, nil
		}
		start = next
	}
}

// RangedWindow finds attr among an entry's attributes, ranged ("member;range=0-1499",
// "member;range=1500-*") or plain, and says where the next window starts and
// whether this one was the last. A plain attribute (the DC ignored the range)
// or none at all ends the reading.
func RangedWindow(e *ldap.Entry, attr string, start int) (values []string, next int, done bool) {
	for _, a := range e.Attributes {
		base, _, last, final, ok := parseRangeAttr(a.Name)
		if !strings.EqualFold(base, attr) {
			continue
		}
		if !ok || final || len(a.Values) == 0 {
			return a.Values, 0, true
		}
		return a.Values, last + 1, false
	}
	return nil, 0, true
}

// ParseRange splits an attribute name of a ranged read ("member;range=0-1499",
// "member;range=1500-*", "member;range=1-1" in a DirSync answer) into the
// attribute and its range; last is -1 when the range ends with "*"; ok is
// false when the name carries no range.
func ParseRange(name string) (attr string, first, last int, ok bool) {
	attr, first, last, _, ok = parseRangeAttr(name)
	return attr, first, last, ok
}

// ReadObject is a base-scope read of dn's attrs.
func (c *Conn) ReadObject(ctx context.Context, dn string, attrs []string) (*ldap.Entry, error) {
	e, err := c.readEntry(ctx, dn, attrs)
	if err != nil {
		return nil, opError(err, "read %s", dn)
	}
	return e, nil
}

// DCName is the domain controller's DNS name as its root DSE says
// (lower case): what a DirSync cookie is tied to.
func (c *Conn) DCName(ctx context.Context) (string, error) {
	r, err := c.rootDSE(ctx)
	if err != nil {
		return "", err
	}
	if r.DNSHostName == "" {
		return strings.ToLower(c.dc), nil
	}
	return strings.ToLower(r.DNSHostName), nil
}

// DirSync flags (MS-ADTS 3.1.1.3.4.1.3): IncrementalValues returns the values
// added to and removed from a multi-valued attribute ("member;range=1-1" and
// "member;range=0-0") instead of all of them; ObjectSecurity lets an account
// without "Replicating Directory Changes" use the control (it then sees what
// it may read).
const (
	DirSyncIncrementalValues = ldap.DirSyncIncrementalValues
	DirSyncObjectSecurity    = ldap.DirSyncObjectSecurity
)

// ErrCookieRefused wraps the DC's refusal of a DirSync cookie (one it cannot
// read: from another DC, corrupted, or too old).
var ErrCookieRefused = errors.New("the domain controller refused the DirSync cookie")

// DirSync runs the DirSync control under base (a naming context's root), from
// cookie (nil: from the beginning), calling fn with each answer's entries,
// and asks again while the DC says more is waiting. It returns the cookie to
// start from next time. A refused cookie is an error that wraps
// ErrCookieRefused; missing rights wrap the LDAP insufficient-access code.
func (c *Conn) DirSync(ctx context.Context, base, filter string, attrs []string, flags int64, cookie []byte, fn func([]*ldap.Entry) error) ([]byte, error) {
	for round := 0; ; round++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ctl := ldap.NewRequestControlDirSync(flags, 0, cookie)
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			filter, attrs, []ldap.Control{ctl})
		var res *ldap.SearchResult
		var err error
		c.guard(ctx, func() { res, err = c.l.Search(req) })
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
			}
			// AD and Samba answer an unreadable cookie with
			// unavailableCriticalExtension (Samba: "Unable to unmarshall
			// cookie"); without a cookie the same code means no DirSync.
			if len(cookie) > 0 && ldap.IsErrorAnyOf(err, ldap.LDAPResultUnavailableCriticalExtension, ldap.LDAPResultProtocolError,
				ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultOther) {
				return nil, newError(ErrCookieRefused, err, "The domain controller refused the saved DirSync cookie of %s.", base)
			}
			return nil, opError(err, "read the changes under %s (DirSync)", base)
		}
		if err := fn(res.Entries); err != nil {
			return nil, err
		}
		resp, ok := ldap.FindControl(res.Controls, ldap.ControlTypeDirSync).(*ldap.ControlDirSync)
		if !ok {
			return nil, newError(nil, nil, "The domain controller answered a DirSync request under %s without a DirSync control.", base)
		}
		if len(resp.Cookie) > 0 {
			cookie = resp.Cookie
		}
		// A non-zero flags field in the answer means more changes are waiting.
		if resp.Flags == 0 || round > 100000 {
			return cookie, nil
		}
	}
}

// NothingFilter matches no object: DirSync with it returns no entries but a
// cookie that stands for "now" (the watermark of everything so far).
const NothingFilter = "(&(objectClass=top)(!(objectClass=top)))"

// HighestCommittedUSN is the DC's highest update sequence number, from its
// root DSE: every object it holds was created at or below it.
func (c *Conn) HighestCommittedUSN(ctx context.Context) (int64, error) {
	e, err := c.readEntry(ctx, "", []string{"highestCommittedUSN"})
	if err != nil {
		return 0, opError(err, "read the domain controller's highest committed USN")
	}
	n, err := strconv.ParseInt(e.GetAttributeValue("highestCommittedUSN"), 10, 64)
	if err != nil {
		return 0, newError(nil, err, "The root DSE of %s has no readable highestCommittedUSN.", c.dc)
	}
	return n, nil
}

// errSplitStopped ends the searches of ReadPagesSplit that are still running
// when fn failed or another search did.
var errSplitStopped = errors.New("directory: stopped")

// ReadPagesSplit is ReadPages over several filters that split one search
// between them (each object matches exactly one): each connection runs one
// search at a time, taking the next filter when it is done, and fn is called
// with every page of every search, one page at a time on the caller's
// goroutine, in no particular order. Its point: the DC builds one search's
// next page while we decode another's (a DC sends a page only once it has
// built all of it, so with one search the two alternate). The connections
// must be to the same DC. An error from fn or a search stops the others and
// is returned.
func ReadPagesSplit(ctx context.Context, conns []*Conn, base string, filters, attrs []string, fn func([]*ldap.Entry) error) error {
	if len(conns) == 0 {
		return errors.New("directory: ReadPagesSplit needs a connection")
	}
	jobs := make(chan string, len(filters))
	for _, f := range filters {
		jobs <- f
	}
	close(jobs)
	pages := make(chan []*ldap.Entry)
	stop := make(chan struct{})
	done := make(chan error, len(conns))
	for _, c := range conns {
		go func() {
			for f := range jobs {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				err := c.ReadPages(ctx, base, f, attrs, func(entries []*ldap.Entry) error {
					select {
					case pages <- entries:
						return nil
					case <-stop:
						return errSplitStopped
					}
				})
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	var first error
	fail := func(err error) {
		if first == nil && err != nil && !errors.Is(err, errSplitStopped) {
			first = err
			close(stop)
		}
	}
	for running := len(conns); running > 0; {
		select {
		case entries := <-pages:
			if first == nil {
				fail(fn(entries))
			}
		case err := <-done:
			running--
			fail(err)
		}
	}
	return first
}

package export

import (
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/metaverse"
)

// Filter narrows the staging review. Empty fields match everything.
type Filter struct {
	Op   string // metaverse.OpAdd, OpUpdate, OpDelete
	Kind string // metaverse.KindUser, …
	// Text matches, case-insensitively, the object's name, key or source,
	// or any attribute name or value of the change.
	Text string
}

// ObjectReview is one pending export as the staging review shows it.
type ObjectReview struct {
	Key    string
	Kind   string
	Op     string
	Object string // its userPrincipalName, display name or key
	Source string
	// Held says why the export does not send this change (HeldReason); ""
	// for a change it sends.
	Held string
	Rows []ReviewRow
}

// ReviewRow is one attribute change (or one membership change).
type ReviewRow struct {
	Attribute string
	Old       string // values joined with "; "
	New       string
}

// MemberAttribute names membership changes in the review ("member", as
// csexport calls them), one row per member: Old set for a removal, New for
// an addition.
const MemberAttribute = "member"

// Review lists the pending exports that match f, in the order given.
func Review(changes []metaverse.Change, f Filter) []ObjectReview {
	var out []ObjectReview
	for _, c := range changes {
		if f.Op != "" && !strings.EqualFold(f.Op, c.Op) || f.Kind != "" && !strings.EqualFold(f.Kind, c.Kind) {
			continue
		}
		r := ObjectReview{Key: c.Key, Kind: c.Kind, Op: c.Op, Object: ObjectName(c), Source: c.Source, Held: HeldReason(c)}
		for _, a := range c.Attrs {
			r.Rows = append(r.Rows, ReviewRow{Attribute: a.Name, Old: strings.Join(a.Old, "; "), New: strings.Join(a.New, "; ")})
		}
		for _, m := range c.AddMembers {
			r.Rows = append(r.Rows, ReviewRow{Attribute: MemberAttribute, New: m})
		}
		for _, m := range c.RemoveMembers {
			r.Rows = append(r.Rows, ReviewRow{Attribute: MemberAttribute, Old: m})
		}
		if f.Text != "" && !r.matches(strings.ToLower(f.Text)) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func (r ObjectReview) matches(text string) bool {
	has := func(s string) bool { return strings.Contains(strings.ToLower(s), text) }
	if has(r.Object) || has(r.Key) || has(r.Source) {
		return true
	}
	return slices.ContainsFunc(r.Rows, func(row ReviewRow) bool { return has(row.Attribute) || has(row.Old) || has(row.New) })
}

// ObjectName is what identifies a change's object to a person: its
// userPrincipalName, else its display name, else its mailNickname, else its
// key — new values first, then old ones (a delete has only old ones).
func ObjectName(c metaverse.Change) string {
	for _, name := range []string{"userPrincipalName", "displayName", "mailNickname"} {
		for _, a := range c.Attrs {
			if a.Name != name {
				continue
			}
			if len(a.New) > 0 && a.New[0] != "" {
				return a.New[0]
			}
			if len(a.Old) > 0 && a.Old[0] != "" {
				return a.Old[0]
			}
		}
	}
	return c.Key
}

// CSVHeader is the first row of WriteCSV.
var CSVHeader = []string{"object", "key", "kind", "operation", "attribute", "old value", "new value", "source", "held"}

// WriteCSV writes the pending exports that match f as CSV: one row per
// attribute or membership change (a change without any gets one row with an
// empty attribute), after CSVHeader — what csexport and CSExportAnalyzer
// give — and, last, why a change is held (empty when it is not). Cells a
// spreadsheet would read as a formula are prefixed with '. The changes come
// one at a time (a million pending exports are never held at once); the
// first error of the sequence ends the CSV and is returned.
func WriteCSV(w io.Writer, changes iter.Seq2[metaverse.Change, error], f Filter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("export: unable to write the CSV header: %w", err)
	}
	for c, err := range changes {
		if err != nil {
			return err
		}
		if err := writeCSVChange(cw, c, f); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export: unable to write the CSV: %w", err)
	}
	return nil
}

// writeCSVChange writes one change's rows, if it matches f.
func writeCSVChange(cw *csv.Writer, c metaverse.Change, f Filter) error {
	for _, r := range Review([]metaverse.Change{c}, f) {
		rows := r.Rows
		if len(rows) == 0 {
			rows = []ReviewRow{{}}
		}
		for _, row := range rows {
			rec := []string{r.Object, r.Key, r.Kind, r.Op, row.Attribute, row.Old, row.New, r.Source, r.Held}
			for i := range rec {
				rec[i] = CSVSafe(rec[i])
			}
			if err := cw.Write(rec); err != nil {
				return fmt.Errorf("export: unable to write the CSV: %w", err)
			}
		}
	}
	return nil
}

// CSVSafe defuses formula injection (OWASP "CSV Injection"): a cell that
// starts with = + - @ or a tab/carriage return is read as a formula by
// spreadsheets, so it gets a leading quote.
func CSVSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

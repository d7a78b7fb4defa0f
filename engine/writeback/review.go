package writeback

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/export"
)

// WriteCSV writes pending writeback operations as rows of the staging
// review's CSV (export.CSVHeader's columns): one row per attribute of an add
// or update, one per membership change, one for a rename or delete. The kind
// column says "writeback group" or "writeback device", the source where it
// is written.
func WriteCSV(w io.Writer, ops []Op) error {
	cw := csv.NewWriter(w)
	for _, op := range ops {
		row := func(attr, value string) []string {
			rec := []string{op.Name, op.CloudID, "writeback " + op.Kind, op.Op, attr, "", value, "Microsoft Entra ID → " + op.DN, ""}
			for i := range rec {
				rec[i] = export.CSVSafe(rec[i])
			}
			return rec
		}
		var recs [][]string
		switch {
		case op.Op == OpMemberAdd || op.Op == OpMemberRemove:
			recs = append(recs, row("member", op.Value))
		case len(op.Attrs) > 0:
			for _, attr := range slices.Sorted(maps.Keys(op.Attrs)) {
				recs = append(recs, row(attr, strings.Join(op.Attrs[attr], "; ")))
			}
		default:
			recs = append(recs, row("", op.Value))
		}
		if err := cw.WriteAll(recs); err != nil {
			return fmt.Errorf("writeback: unable to write the pending writebacks: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

package export

import (
	"fmt"

	"github.com/hybridsync/hybridsync/engine/store"
)

// GuardDecision is the deletion guard's verdict on one export.
type GuardDecision struct {
	// Stop: the export must not start.
	Stop bool
	// UseAllowance: the export goes ahead only thanks to the one-shot
	// allowance, which it spends.
	UseAllowance bool
	Deletes      int
	// Limit is the number of deletes the guard lets through (the lower of
	// the count and the percentage of exported objects); -1 when off.
	Limit int
	// Reason says why, worded for the run history.
	Reason string
}

// CheckDeletions decides whether an export of deletes deletions may start.
// exported is the number of objects hybridsync has in the tenant (the base of
// the percentage). Exceeding means more than the limit: 500 deletes pass a
// threshold of 500, 501 do not. A one-shot allowance lets an export through
// when it covers every delete of it (an admin who allowed 600 deletes did
// not allow 5,000).
func CheckDeletions(g store.DeletionGuard, deletes, exported int) GuardDecision {
	d := GuardDecision{Deletes: deletes, Limit: -1}
	if !g.Enabled {
		d.Reason = "The deletion guard is off."
		return d
	}
	d.Limit = g.Threshold
	why := fmt.Sprintf("more than %d deletes", g.Threshold)
	if g.Percent > 0 && exported > 0 {
		// Integer arithmetic: deletes/exported > percent/100 without rounding.
		pctLimit := g.Percent * exported / 100
		if pctLimit < d.Limit {
			d.Limit = pctLimit
			why = fmt.Sprintf("more than %d%% of the %d exported objects (%d)", g.Percent, exported, pctLimit)
		}
	}
	if deletes <= d.Limit {
		d.Reason = fmt.Sprintf("%d deletes are within the deletion guard (%d).", deletes, d.Limit)
		return d
	}
	if g.AllowDeletes >= deletes {
		d.UseAllowance = true
		d.Reason = fmt.Sprintf("%d deletes are %s, allowed once by %s.", deletes, why, orSomeone(g.AllowBy))
		return d
	}
	d.Stop = true
	d.Reason = fmt.Sprintf("The export was stopped: it would delete %d objects, %s. Review the pending deletes, then allow them once or change the threshold.", deletes, why)
	if g.AllowDeletes > 0 {
		d.Reason += fmt.Sprintf(" (%s allowed %d deletes once, fewer than these.)", orSomeone(g.AllowBy), g.AllowDeletes)
	}
	return d
}

func orSomeone(s string) string {
	if s == "" {
		return "an administrator"
	}
	return s
}

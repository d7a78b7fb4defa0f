// Package outcome is how everything the engine runs ends — a job, a step of
// it, a sync cycle, an export — and how the problems it met are told. There
// are six outcomes and no other: a run that met a warning or an error never
// ends "succeeded".
package outcome

// The six outcomes, from best to worst.
const (
	// Succeeded: it did everything it set out to do, and met no problem.
	Succeeded = "succeeded"
	// Warnings: it did its work, and met something the admin should know
	// about or act on (a right missing, an option that can't take effect).
	Warnings = "succeeded-with-warnings"
	// Errors: it went to the end, but some of its work was not done (sync
	// errors, refused writes, failed changes).
	Errors = "completed-with-errors"
	// Stopped: the deletion guard stopped an export before it changed
	// anything; an admin decides.
	Stopped = "stopped"
	// Failed: it could not go on.
	Failed = "failed"
	// Interrupted: the server stopped while it ran.
	Interrupted = "interrupted"
)

// All are the outcomes, from best to worst.
var All = []string{Succeeded, Warnings, Errors, Stopped, Failed, Interrupted}

// Is reports whether s is one of the six outcomes.
func Is(s string) bool { return rank(s) >= 0 }

func rank(s string) int {
	for i, o := range All {
		if o == s {
			return i
		}
	}
	return -1
}

// Worst is the worse of two outcomes; a word that is not an outcome (""
// among them) counts as better than every outcome.
func Worst(a, b string) string {
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Label is an outcome in words ("succeeded with warnings"); any other
// status word is returned as it is.
func Label(s string) string {
	switch s {
	case Warnings:
		return "succeeded with warnings"
	case Errors:
		return "completed with errors"
	}
	return s
}

// Problem levels.
const (
	LevelWarn  = "warn"
	LevelError = "error"
)

// Of is the outcome of a run that went to its end and met problems of
// these levels: succeeded, with warnings or with errors.
func Of(levels ...string) string {
	out := Succeeded
	for _, l := range levels {
		switch l {
		case LevelError:
			out = Worst(out, Errors)
		case LevelWarn:
			out = Worst(out, Warnings)
		}
	}
	return out
}

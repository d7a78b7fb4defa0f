package setup

// Extensions is the Directory extensions page's answers.
type Extensions struct{}

var extensionsPage = Page{
	ID:        PageExtensions,
	Title:     "Directory extensions",
	Section:   "Sync",
	ShownWhen: func(a *Answers) bool { return a.Features.DirectoryExtensions },
	Coming:    comingExtensions,
}

const comingExtensions = "You chose directory extension attribute sync. Here you will pick attributes of your forests' schema to sync as " +
	"directory extensions (at most 100, each value at most 250 characters). It needs your forests' schema, still to come."

// summarizeExtensions is the page's part of the summary.
func summarizeExtensions(a Answers) []SummaryRow { return nil }

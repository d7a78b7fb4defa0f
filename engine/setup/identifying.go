package setup

// Identifying is the Identifying users page's answers.
type Identifying struct{}

var identifyingPage = Page{
	ID:        PageIdentifying,
	Title:     "Identifying users",
	Section:   "Sync",
	ShownWhen: nil,
	Coming:    comingIdentifying,
}

const comingIdentifying = "Here you will choose how users are matched across forests and which attribute is the sourceAnchor. " +
	"It reads your forests to apply the ms-DS-ConsistencyGuid selection logic, so it comes with the directory work."

// summarizeIdentifying is the page's part of the summary.
func summarizeIdentifying(a Answers) []SummaryRow { return nil }

package setup

import "context"

// Express is the Express settings page: Customize starts the custom path. Express
// settings themselves need a forest and a tenant (they connect both with one
// enterprise admin and one Hybrid Identity Administrator), so the page offers
// only Customize until those land.
type Express struct {
	Mode string `json:"mode"` // "custom" once Customize was chosen
}

const ModeCustom = "custom"

var expressPage = Page{
	ID:      PageExpress,
	Title:   "Express settings",
	Section: "Welcome",
	Bind: func(a *Answers, f Form) {
		a.Express.Mode = ModeCustom
	},
	Validate: func(context.Context, *Answers, Checker) Errors { return Errors{} },
}

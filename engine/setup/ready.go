package setup

import "context"

// Ready is the Ready to configure page.
type Ready struct {
	Staging   bool `json:"staging"`
	StartSync bool `json:"startSync"`
}

var readyPage = Page{
	ID:      PageReady,
	Title:   "Ready to configure",
	Section: "Configure",
	Bind: func(a *Answers, f Form) {
		a.Ready.Staging = f.on("staging")
		a.Ready.StartSync = f.on("start_sync")
	},
	Validate: func(context.Context, *Answers, Checker) Errors { return Errors{} },
	// Staging mode is explained at its checkbox (StagingText); the page's
	// own notes are ReadyNotices, shown above its summary.
}

// ReadyNotices are what Ready to configure says before Configure: with
// federation, the seed's note on name resolution for federation servers.
func ReadyNotices(a *Answers) []Notice {
	if Federates(a) == "" {
		return nil
	}
	return []Notice{{Level: "warn", Text: MsgFedNameRes, PageOnly: true}}
}

// StagingText explains staging mode, as the seed does.
const StagingText = "When you enable staging mode, the sync engine imports and synchronizes data as normal, but it exports no data " +
	"to Microsoft Entra ID or Active Directory. In staging mode, the password sync feature and password writeback feature are disabled. " +
	"You can make the changes you need and review what will be exported; when the configuration looks good, run the wizard again and " +
	"disable staging mode. Only one sync server can export to one directory in the cloud: disable the other server at the same time."

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
	// Staging mode is explained at its checkbox (StagingText), and the
	// federation note would ask to prepare for a Configure that is not
	// offered yet (ConfigureBlocked): this page has no notices of its own.
}

// ConfigureBlocked says why Configure is not offered for these answers, or ""
// when it is. Federation (AD FS, PingFederate) is built in a later release:
// until then its pages collect nothing, and Configure would apply a
// configuration whose users can't sign in as chosen.
func ConfigureBlocked(a *Answers) string {
	server := federationServer[a.SignIn.Method]
	if server == "" {
		return ""
	}
	return "Configure is not offered yet: hybridsync can't configure federation with " + server + " yet. " +
		"Choose another sign-in method on User sign-in, or wait for the hybridsync release that configures federation."
}

// FederationNotBuilt says at a federation method's choice that it can't be
// configured yet ("" for the other methods).
func FederationNotBuilt(method string) string {
	server := federationServer[method]
	if server == "" {
		return ""
	}
	return "hybridsync can't configure federation with " + server + " yet: its pages are still to come, and Ready to configure " +
		"doesn't offer Configure while it is chosen."
}

var federationServer = map[string]string{MethodADFS: "AD FS", MethodPing: "PingFederate"}

// StagingText explains staging mode, as the seed does.
const StagingText = "When you enable staging mode, the sync engine imports and synchronizes data as normal, but it exports no data " +
	"to Microsoft Entra ID or Active Directory. In staging mode, the password sync feature and password writeback feature are disabled. " +
	"You can make the changes you need and review what will be exported; when the configuration looks good, run the wizard again and " +
	"disable staging mode. Only one sync server can export to one directory in the cloud: disable the other server at the same time."

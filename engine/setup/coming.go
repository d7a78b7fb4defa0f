package setup

// Pages that need a directory or a tenant. They are in the table, in the seed's
// order and under its conditions, so that the wizard's shape is right from the
// start; until the directory (Active Directory over LDAP) and tenant (Microsoft
// Graph) work lands they say what they will do, collect nothing and invent nothing.

func coming(id, title, section string, shown func(*Answers) bool, text string) Page {
	return Page{ID: id, Title: title, Section: section, ShownWhen: shown, Coming: text}
}

const (
	comingADFSFarm = "You chose federation with AD FS. Here you will create a new AD FS farm (with its TLS certificate) or use an existing one. " +
		"Configuring AD FS needs Windows servers with WinRM, which hybridsync does not manage yet."
	comingADFSServers = "Here you will list the servers to install AD FS on. This page is still to come."
	comingADFSProxies = "Here you will list the Web Application Proxy servers. This page is still to come."
	comingADFSAccount = "Here you will choose a group managed service account or a domain user account for the AD FS service. " +
		"This page is still to come."
	comingADFSDomain = "Here you will choose the one Microsoft Entra domain to federate and get what you need to verify it. " +
		"It needs your tenant, still to come."
	comingPingDomain = "You chose federation with PingFederate. Here you will choose the domain to federate and verify it. " +
		"It needs your tenant, still to come."
	comingPingSettings = "Here you will export the settings your PingFederate administrator needs, then give the PingFederate server URL " +
		"and port so that its metadata can be checked. This page is still to come."
	comingPingConnectivity = "Here hybridsync will check that the authentication endpoints from the PingFederate metadata resolve, " +
		"first through your DNS servers, then an external DNS provider. This page is still to come."
	comingPingLogin = "Here you will verify the federated sign-in by signing in to the federated domain. This page is still to come."
)

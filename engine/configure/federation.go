package configure

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/federation"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// Federation's steps: the domain verified, the AD FS farm deployed (by the
// admin, with the scripts Configure gives: hybridsync can't run remote
// PowerShell) or the PingFederate server read, and the domain federated in
// Microsoft Entra ID from the federation server's own metadata.

// FedReader reads federation servers' metadata; setup.StoreChecker has it.
type FedReader interface {
	ReadADFSMetadata(ctx context.Context, farm string) (*setup.FedMetadata, error)
	ReadPingMetadata(ctx context.Context, server string, port int) (*setup.FedMetadata, bool, error)
}

// DefaultFarmWait is how long Configure waits for a new AD FS farm to answer,
// and DefaultFarmPoll how often it asks.
const (
	DefaultFarmWait = 4 * time.Hour
	DefaultFarmPoll = 10 * time.Second
)

func (c *run) federationSteps() []jobs.Step {
	a := c.p.Answers
	server := setup.Federates(&a)
	if server == "" {
		return nil
	}
	fd := a.Federation
	steps := []jobs.Step{{Name: "Verify the domain " + fd.Domain + " in Microsoft Entra ID", Run: c.fedVerifyDomain}}
	switch {
	case a.SignIn.Method == setup.MethodPing:
		steps = append(steps, jobs.Step{Name: "Read the PingFederate server's metadata", Run: c.fedReadPing})
	case fd.Farm == setup.FarmExisting:
		steps = append(steps,
			jobs.Step{Name: "Give the script that re-creates the relying party trust on " + fd.ExistingServer, Run: c.fedScripts},
			jobs.Step{Name: "Read the AD FS farm's metadata from " + fd.ExistingServer, Run: c.fedReadFarm})
	default:
		steps = append(steps,
			jobs.Step{Name: "Give the AD FS deployment scripts", Run: c.fedScripts},
			jobs.Step{Name: "Wait for the AD FS farm " + fd.ServiceName + " to answer", Run: c.fedWaitFarm})
	}
	return append(steps, jobs.Step{Name: "Federate " + fd.Domain + " with " + server + " in Microsoft Entra ID", Run: c.fedDomain})
}

// fedGraph is Graph as the signed-in administrator: federating a domain
// needs a Global Administrator (or Hybrid Identity and Domain Name
// Administrator), which the sync service account never is.
func (c *run) fedGraph() (*cloud.Client, *entra.Session, error) {
	cfg, err := c.entra()
	if err != nil {
		return nil, nil, err
	}
	sess, ok := c.d.Entra.EntraSession()
	if !ok {
		return nil, nil, errors.New(MsgEntraGone)
	}
	g, err := cfg.Graph(sess.TokenSource())
	if err != nil {
		return nil, nil, err
	}
	return g, sess, nil
}

func (c *run) fedVerifyDomain(ctx context.Context, r *jobs.Run) error {
	name := c.p.Answers.Federation.Domain
	g, _, err := c.fedGraph()
	if err != nil {
		return err
	}
	d, err := g.Domain(ctx, name)
	if err != nil {
		return fmt.Errorf("unable to read the domain %s in Microsoft Entra ID: %s", name, entra.Message(err))
	}
	if d.IsInitial {
		return errors.New(setup.MsgFedInitial)
	}
	if d.IsVerified {
		r.Logf("%s is verified (authentication: %s)", name, d.AuthenticationType)
		return nil
	}
	r.Logf("%s is not verified: asking Microsoft Entra ID to verify it", name)
	if _, err := g.VerifyDomain(ctx, name); err != nil {
		return fmt.Errorf("Microsoft Entra ID couldn't verify %s, so the configuration can't be completed: publish the TXT record the Microsoft Entra domain page shows in the domain's public DNS, then select Retry (%s)", name, entra.Message(err))
	}
	r.Logf("%s is now verified", name)
	return nil
}

func (c *run) fedReader() (FedReader, error) {
	fr, ok := c.d.Checker.(FedReader)
	if !ok {
		return nil, errors.New("configure: this server can't read federation metadata")
	}
	return fr, nil
}

func (c *run) fedReadPing(ctx context.Context, r *jobs.Run) error {
	fd := c.p.Answers.Federation
	fr, err := c.fedReader()
	if err != nil {
		return err
	}
	port := 0
	fmt.Sscan(fd.PingPort, &port)
	r.Logf("Reading the metadata of %s:%d for the connection to Microsoft Entra ID", fd.PingServer, port)
	md, missing, err := fr.ReadPingMetadata(ctx, fd.PingServer, port)
	if missing {
		return errors.New(setup.MsgPingMissing + " " + setup.MsgPingContact)
	}
	if err != nil {
		return errors.New(setup.CheckMessage(err))
	}
	return c.useMetadata(r, md)
}

func (c *run) fedReadFarm(ctx context.Context, r *jobs.Run) error {
	fr, err := c.fedReader()
	if err != nil {
		return err
	}
	md, err := fr.ReadADFSMetadata(ctx, c.p.Answers.Federation.ExistingServer)
	if err != nil {
		return errors.New(setup.CheckMessage(err))
	}
	return c.useMetadata(r, md)
}

// useMetadata keeps the metadata for the federate step, or fails on what it lacks.
func (c *run) useMetadata(r *jobs.Run, md *setup.FedMetadata) error {
	if len(md.Problems) > 0 {
		return errors.New("the federation server's metadata can't be used: " + strings.Join(md.Problems, " "))
	}
	r.Logf("Issuer %s, signing certificate %s, sign-in at %s", md.EntityID, md.SigningThumbprint, md.PassiveSignInURI)
	c.fedMeta = md
	return nil
}

// Deployment is the AD FS deployment the answers describe.
func Deployment(a setup.Answers) federation.Deployment {
	fd := a.Federation
	d := federation.Deployment{
		NewFarm:               fd.Farm != setup.FarmExisting,
		FederationServiceName: fd.ServiceName,
		DisplayName:           "hybridsync federation service",
		Domain:                fd.Domain,
		SourceAnchor:          anchorAttribute(a),
		UPNAttribute:          a.SignInConfig.Attribute,
		CreateKDSRootKey:      fd.AccountType == setup.FedAccountGMSA && fd.CreateKDSKey,
	}
	if d.UPNAttribute == "" {
		d.UPNAttribute = setup.AttributeUPN
	}
	if fd.Farm == setup.FarmExisting {
		// The trust script runs on the server the admin named.
		server := strings.Split(fd.ExistingServer, ":")[0]
		d.FederationServiceName, d.Servers = server, []string{server}
		if fd.Metadata != nil && fd.Metadata.PassiveSignInURI != "" {
			if host := hostOf(fd.Metadata.PassiveSignInURI); host != "" {
				d.FederationServiceName = host
			}
		}
		return d
	}
	if fd.Cert != nil {
		d.CertThumbprint, d.CertFile = fd.Cert.Thumbprint, fd.Cert.FileName
	}
	for _, s := range fd.Servers {
		d.Servers = append(d.Servers, s.Name)
	}
	for _, s := range fd.Proxies {
		d.Proxies = append(d.Proxies, s.Name)
	}
	if fd.AccountType == setup.FedAccountUser {
		d.ServiceUser = fd.ServiceUser
	} else {
		d.GMSA = fd.GMSA
	}
	return d
}

// anchorAttribute is the AD attribute the ImmutableID comes from.
func anchorAttribute(a setup.Answers) string {
	if strings.EqualFold(a.Identifying.Resolved, "mS-DS-ConsistencyGuid") {
		return "mS-DS-ConsistencyGuid"
	}
	return "objectGUID"
}

func hostOf(u string) string {
	rest, ok := strings.CutPrefix(u, "https://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, ":")
	return host
}

func (c *run) fedScripts(ctx context.Context, r *jobs.Run) error {
	scripts, err := federation.Scripts(Deployment(c.p.Answers))
	if err != nil {
		return err
	}
	r.Logf("hybridsync can't run Windows PowerShell on the AD FS servers (there is no maintained Go client for Windows Remote Management): run these scripts yourself, as an administrator, in this order")
	for i, s := range scripts {
		r.Logf("%d. %s on %s (%s): shown and downloadable on this job's page (/jobs/%d/scripts/%s)", i+1, s.FileName, s.Server, s.Role, r.JobID, s.FileName)
	}
	// The AD FS server's administrator, entered for the proxies, would have
	// served a remote Install-WebApplicationProxy; the proxy script asks for
	// it instead, so it is dropped here, as the proxies page says.
	if pc, ok := c.d.Checker.(interface{ ForgetProxyCreds() }); ok && c.p.Answers.Federation.ProxyCredsAs != "" {
		pc.ForgetProxyCreds()
		r.Logf("The AD FS server's administrator credentials (%s) were dropped from memory: the proxy script asks for them when you run it", c.p.Answers.Federation.ProxyCredsAs)
		used := c.p.Answers.Federation.ProxyCredsAs + ", dropped by Configure " + time.Now().UTC().Format(time.RFC3339)
		if err := c.updateWizard(ctx, func(a *setup.Answers) bool {
			a.Federation.ProxyCredsAs, a.Federation.ProxyCredsUsed = "", used
			return true
		}); err != nil {
			r.Warnf("The wizard could not record that the credentials were dropped: %v", err)
		}
	}
	return nil
}

// fedWaitFarm waits until the new farm's metadata answers, asking every
// FarmPoll; the admin can cancel the job meanwhile. It never claims a
// deployment it did not see: it goes on only on metadata it read.
func (c *run) fedWaitFarm(ctx context.Context, r *jobs.Run) error {
	fr, err := c.fedReader()
	if err != nil {
		return err
	}
	fs := c.p.Answers.Federation.ServiceName
	wait, every := c.d.FarmWait, c.d.FarmPoll
	if wait == 0 {
		wait = DefaultFarmWait
	}
	if every == 0 {
		every = DefaultFarmPoll
	}
	r.Logf("Waiting up to %s for https://%s/FederationMetadata/2007-06/FederationMetadata.xml to answer; run the scripts now. Select Cancel on this page to stop waiting.", wait, fs)
	deadline := time.Now().Add(wait)
	last := ""
	for {
		md, err := fr.ReadADFSMetadata(ctx, fs)
		if err == nil {
			r.Logf("The farm answers")
			return c.useMetadata(r, md)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if msg := setup.CheckMessage(err); msg != last {
			r.Logf("Not yet: %s", msg)
			last = msg
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the AD FS farm %s did not answer within %s: %s Run the scripts this step gave, then select Retry", fs, wait, last)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// fedDomain creates the domain's federation configuration in Microsoft
// Entra ID from the metadata read, or replaces the one there.
func (c *run) fedDomain(ctx context.Context, r *jobs.Run) error {
	md := c.fedMeta
	if md == nil {
		return errors.New("configure: no federation metadata was read")
	}
	a := c.p.Answers
	name := a.Federation.Domain
	g, sess, err := c.fedGraph()
	if err != nil {
		return err
	}
	want := cloud.InternalDomainFederation{
		DisplayName:                     setup.Federates(&a) + " (" + hostOf(md.PassiveSignInURI) + ")",
		IssuerURI:                       md.EntityID,
		PassiveSignInURI:                md.PassiveSignInURI,
		SignOutURI:                      md.SignOutURI,
		ActiveSignInURI:                 md.ActiveSignInURI,
		MetadataExchangeURI:             md.MetadataExchangeURI,
		SigningCertificate:              md.SigningCertificate,
		NextSigningCertificate:          md.NextSigningCertificate,
		PreferredAuthenticationProtocol: md.Protocol,
		PromptLoginBehavior:             "nativeSupport",
		FederatedIdpMfaBehavior:         "acceptIfMfaDoneByFederatedIdp",
	}
	if want.SignOutURI == "" {
		want.SignOutURI = want.PassiveSignInURI
	}
	existing, err := g.FederationConfigurations(ctx, name)
	if err != nil {
		return c.fedGraphError(err, sess, "read the federation configuration of "+name)
	}
	if len(existing) > 0 {
		r.Logf("%s already has a federation configuration (issuer %s): replacing it", name, existing[0].IssuerURI)
		if _, err := g.UpdateFederationConfiguration(ctx, name, existing[0].ID, want); err != nil {
			return c.fedGraphError(err, sess, "update the federation configuration of "+name)
		}
	} else if _, err := g.CreateFederationConfiguration(ctx, name, want); err != nil {
		return c.fedGraphError(err, sess, "federate "+name)
	}
	r.Logf("%s is federated: users of the domain sign in at %s (%s), which issues tokens as %s", name, want.PassiveSignInURI, want.PreferredAuthenticationProtocol, want.IssuerURI)
	if err := c.updateWizard(ctx, func(sa *setup.Answers) bool {
		if sa.ConnectEntra.Tenant == nil {
			return false
		}
		for i, d := range sa.ConnectEntra.Tenant.Domains {
			if strings.EqualFold(d.Name, name) {
				sa.ConnectEntra.Tenant.Domains[i].AuthenticationType = "Federated"
				return true
			}
		}
		return false
	}); err != nil {
		r.Warnf("The wizard could not record that %s is federated: %v", name, err)
	}
	c.d.Entra.ForgetEntra()
	r.Logf("The administrator's sign-in is no longer needed and was dropped from memory")
	return nil
}

func (c *run) fedGraphError(err error, sess *entra.Session, doing string) error {
	if cloud.IsForbidden(err) {
		return fmt.Errorf("Microsoft Entra ID refused to let %s %s. %s", sess.User, doing, setup.MsgFedRoles)
	}
	return fmt.Errorf("unable to %s in Microsoft Entra ID: %s", doing, entra.Message(err))
}

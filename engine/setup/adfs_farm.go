package setup

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/federation"
)

// The AD FS farm page: a new farm (its TLS certificate, uploaded as a
// PKCS#12 file, and the federation service name it names) or an existing
// farm (its server, whose metadata is read over HTTPS).

// Actions of the page's own buttons.
const (
	ActionADFSCert     = "adfs_cert"
	ActionADFSCertDrop = "adfs_cert_drop"
	ActionADFSRead     = "adfs_read"
)

// Messages of the page.
const (
	MsgADFSNeedsWindows = "AD FS runs on Windows Server 2012 R2 or later, for the federation servers and the Web Application Proxy servers. " +
		"hybridsync can't run Windows PowerShell on them (there is no maintained Go client for Windows Remote Management): Configure gives you the " +
		"deployment scripts to run on each server, and waits until the farm answers."
	MsgADFSExistingNote = "You can use hybridsync to manage only one AD FS farm. If you have an existing federation trust where Microsoft Entra ID is configured " +
		"on the selected AD FS farm, hybridsync re-creates the trust from scratch."
	MsgADFSNeedCert     = "Upload the TLS/SSL certificate of the federation service: a PKCS#12 (.pfx) file with its private key."
	MsgADFSNeedName     = "Choose the federation service name, for example sts.contoso.com."
	MsgADFSWildcard     = "The certificate is a wildcard certificate: type the federation service name it covers, for example sts.contoso.com."
	MsgADFSNeedServer   = "Enter the name of a server of the existing AD FS farm, for example sts.contoso.com."
	MsgADFSReadFirst    = "Select Read metadata: hybridsync reads the farm's federation metadata before you go on."
	MsgADFSCertPassword = "This certificate is protected by a password. Enter its password, then select Upload again (the file is kept in memory meanwhile)."
)

var adfsFarmPage = Page{
	ID:        PageADFSFarm,
	Title:     "AD FS farm",
	Section:   "Federation with AD FS",
	ShownWhen: usesADFS,
	Bind: func(a *Answers, f Form) {
		fd := &a.Federation
		if v := f.str("adfs_farm"); v == FarmNew || v == FarmExisting {
			fd.Farm = v
		}
		if f.Values.Has("adfs_service_name") {
			fd.ServiceName = strings.ToLower(strings.TrimSuffix(f.str("adfs_service_name"), "."))
		}
		if f.Values.Has("adfs_existing") {
			server := strings.ToLower(f.str("adfs_existing"))
			if fd.ExistingServer != server {
				fd.Metadata = nil // read for another server
			}
			fd.ExistingServer = server
		}
	},
	Validate: func(_ context.Context, a *Answers, _ Checker) Errors {
		e := Errors{}
		fd := a.Federation
		if fd.Farm == FarmExisting {
			switch {
			case fd.ExistingServer == "":
				e.Add("adfs_existing", MsgADFSNeedServer)
			case fd.Metadata == nil:
				e.Add("adfs_existing", MsgADFSReadFirst)
			case len(fd.Metadata.Problems) > 0:
				e.Add("adfs_existing", strings.Join(fd.Metadata.Problems, " "))
			}
			return e
		}
		if fd.Cert == nil {
			e.Add("adfs_cert", MsgADFSNeedCert)
			return e
		}
		if len(fd.Cert.Problems) > 0 {
			e.Add("adfs_cert", strings.Join(fd.Cert.Problems, " "))
		}
		switch {
		case fd.ServiceName == "" || strings.HasPrefix(fd.ServiceName, "*"):
			e.Add("adfs_service_name", MsgADFSNeedName)
		case federation.ValidFSName(fd.ServiceName) != nil:
			e.Add("adfs_service_name", federation.ValidFSName(fd.ServiceName).Error())
		case !certCovers(fd.Cert, fd.ServiceName):
			e.Add("adfs_service_name", "The certificate doesn't match the federation service name "+fd.ServiceName+": its names are "+
				strings.Join(fd.Cert.Names, ", ")+". The identity of the certificate must match the federation service name.")
		}
		return e
	},
	Act: actADFSFarm,
	View: func(_ context.Context, _ *Answers, chk Checker) any {
		v := ADFSFarmView{}
		if fc, ok := chk.(fedChecker); ok {
			v.HeldFile, _, v.AwaitingPassword = fc.HeldPFX()
		}
		return v
	},
}

// ADFSFarmView is what the farm page shows beyond the answers: whether an
// uploaded certificate file waits for its password.
type ADFSFarmView struct {
	AwaitingPassword bool
	HeldFile         string
}

func actADFSFarm(ctx context.Context, a *Answers, action string, f Form, chk Checker) Errors {
	e := Errors{}
	fd := &a.Federation
	fc, _ := chk.(fedChecker)
	switch action {
	case ActionADFSCertDrop:
		fd.Cert, fd.ServiceName = nil, ""
		if fc != nil {
			fc.DropPFX()
		}
	case ActionADFSCert:
		fd.Farm = FarmNew
		if fc == nil {
			return e
		}
		name, data := "", []byte(nil)
		if f.File != nil && len(f.File.Data) > 0 {
			name, data = f.File.Name, f.File.Data
		} else if n, d, ok := fc.HeldPFX(); ok {
			name, data = n, d
		} else {
			e.Add("adfs_cert", MsgADFSNeedCert)
			return e
		}
		cert, err := fc.ReadFarmCert(name, data, f.raw("adfs_cert_password"))
		switch {
		case errors.Is(err, federation.ErrPFXPasswordNeeded):
			fc.HoldPFX(name, data)
			e.Add("adfs_cert", MsgADFSCertPassword)
			return e
		case errors.Is(err, federation.ErrPFXPasswordWrong):
			fc.HoldPFX(name, data)
			e.Add("adfs_cert_password", CheckMessage(err))
			return e
		case err != nil:
			fc.DropPFX()
			e.Add("adfs_cert", CheckMessage(err))
			return e
		}
		fc.DropPFX() // read: nothing of it but its public facts stays
		fd.Cert = cert
		if fd.ServiceName == "" || !certCovers(cert, fd.ServiceName) {
			fd.ServiceName = ""
			for _, n := range cert.Names {
				if !strings.HasPrefix(n, "*") {
					fd.ServiceName = n
					break
				}
			}
		}
	case ActionADFSRead:
		fd.Farm = FarmExisting
		if fd.ExistingServer == "" {
			e.Add("adfs_existing", MsgADFSNeedServer)
			return e
		}
		if fc == nil {
			return e
		}
		md, err := fc.ReadADFSMetadata(ctx, fd.ExistingServer)
		if err != nil {
			fd.Metadata = nil
			e.Add("adfs_existing", CheckMessage(err))
			return e
		}
		fd.Metadata = md
	default:
		return Errors{"": "This page has no such button. Reload the page and try again."}
	}
	return e
}

// certCovers reports whether the certificate's names cover the service name
// (a wildcard covers one label).
func certCovers(c *FarmCert, name string) bool {
	name = strings.ToLower(name)
	if slices.Contains(c.Names, name) {
		return true
	}
	for _, n := range c.Names {
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			host, dom, found := strings.Cut(name, ".")
			if found && host != "" && strings.EqualFold(dom, rest) {
				return true
			}
		}
	}
	return false
}

// CertHasWildcard reports whether the certificate names a wildcard.
func CertHasWildcard(c *FarmCert) bool {
	for _, n := range c.Names {
		if strings.HasPrefix(n, "*") {
			return true
		}
	}
	return false
}

package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoSPConnection: the PingFederate server answered, but it has no
// (enabled) service provider connection for Microsoft Entra ID. The text is
// Entra Connect's own.
var ErrNoSPConnection = errors.New("The PingFederate server was found, but the service provider connection for Azure is missing or disabled.")

// PingPartnerSpID is Microsoft Entra ID's entity ID as a SAML service
// provider: the PartnerSpId of the PingFederate connection.
const PingPartnerSpID = "urn:federation:MicrosoftOnline"

// PingDefaultPort is PingFederate's default runtime (HTTPS) port.
const PingDefaultPort = 9031

// adfsMetadataPath is where AD FS publishes its federation metadata.
const adfsMetadataPath = "/FederationMetadata/2007-06/FederationMetadata.xml"

// maxMetadata bounds a metadata document read (AD FS's is about 60 KB).
const maxMetadata = 4 << 20

// FetchError is a failure to read a federation server's metadata.
type FetchError struct {
	URL  string
	Step string // "resolve", "connect", "tls", "http" or "parse"
	Err  error
	Msg  string // worded for the administrator, naming the URL
}

func (e *FetchError) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	return fmt.Sprintf("federation: %s %s: %v", e.Step, e.URL, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// HTTPClient is a client for federation servers: it dials through r (nil:
// the system's resolver), trusts roots (nil: the system's CAs), speaks TLS
// 1.2 or later and never uses a proxy from the environment (the console only
// talks to what it is told to).
func HTTPClient(r *net.Resolver, roots *x509.CertPool, timeout time.Duration) *http.Client {
	d := &net.Dialer{Resolver: r, Timeout: timeout}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         d.DialContext,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
			TLSHandshakeTimeout: timeout,
			ForceAttemptHTTP2:   true,
			MaxIdleConns:        4,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// FetchADFS reads an AD FS farm's federation metadata from
// https://<farm>/FederationMetadata/2007-06/FederationMetadata.xml; farm is
// the federation service name, with a port if it isn't 443
// ("sts.contoso.com", "sts.contoso.com:8443"). It returns the metadata and
// the document as read.
func FetchADFS(ctx context.Context, hc *http.Client, farm string) (*Metadata, []byte, error) {
	host, err := farmHost(farm)
	if err != nil {
		return nil, nil, err
	}
	u := "https://" + host + adfsMetadataPath
	const who = "the AD FS server"
	status, body, err := get(ctx, hc, u, who)
	if err != nil {
		return nil, nil, err
	}
	if status != http.StatusOK {
		return nil, nil, &FetchError{URL: u, Step: "http", Err: fmt.Errorf("HTTP %d", status),
			Msg: fmt.Sprintf("The AD FS server answered %s with %d %s instead of its federation metadata. Check that the federation service name is the farm's and that AD FS is running.", u, status, http.StatusText(status))}
	}
	m, err := ParseADFS(body)
	if err != nil {
		return nil, nil, &FetchError{URL: u, Step: "parse", Err: err, Msg: fmt.Sprintf("The federation metadata at %s could not be used: %v", u, err)}
	}
	return m, body, nil
}

// farmHost checks a farm address: a DNS name (or an IP address) with an
// optional port.
func farmHost(farm string) (string, error) {
	farm = strings.TrimSpace(farm)
	host, port := farm, ""
	if h, p, err := net.SplitHostPort(farm); err == nil {
		host, port = h, p
	}
	if net.ParseIP(host) == nil {
		if err := ValidFSName(host); err != nil {
			return "", err
		}
	}
	if port == "" {
		return host, nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("%q is not a valid port for the federation server.", port)
	}
	return net.JoinHostPort(host, port), nil
}

// PingMetadataURL is where PingFederate publishes the metadata of its
// connection for Microsoft Entra ID:
// https://<host>:<port>/pf/federation_metadata.ping?PartnerSpId=urn:federation:MicrosoftOnline.
// server is a host name or an https URL (its path is ignored); port 0 takes
// the URL's port, else PingFederate's default 9031.
//
// Guess: which URL Entra Connect reads is not documented; this is
// PingFederate's per-connection metadata endpoint (without PartnerSpId it
// would give the server's default signing certificate, not the connection's).
func PingMetadataURL(server string, port int) (string, error) {
	base, err := pingBase(server, port)
	if err != nil {
		return "", err
	}
	return base + "/pf/federation_metadata.ping?PartnerSpId=" + url.QueryEscape(PingPartnerSpID), nil
}

// pingBase is https://host:port for the server the administrator named.
func pingBase(server string, port int) (string, error) {
	server = strings.TrimSpace(server)
	if server == "" {
		return "", errors.New("Enter the PingFederate server's name or URL.")
	}
	host := server
	if strings.Contains(server, "://") {
		u, err := url.Parse(server)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("%q is not a valid URL for the PingFederate server.", server)
		}
		if !strings.EqualFold(u.Scheme, "https") {
			return "", fmt.Errorf("The PingFederate server must be reached over HTTPS: %q uses %s.", server, u.Scheme)
		}
		host = u.Hostname()
		if p := u.Port(); p != "" && port == 0 {
			port, _ = strconv.Atoi(p)
		}
	} else if h, p, err := net.SplitHostPort(server); err == nil {
		host = h
		if port == 0 {
			port, _ = strconv.Atoi(p)
		}
	}
	if net.ParseIP(host) == nil {
		if err := ValidFSName(host); err != nil {
			return "", fmt.Errorf("%q is not a valid PingFederate server name: enter its DNS name, for example ping.contoso.com.", host)
		}
	}
	if port == 0 {
		port = PingDefaultPort
	}
	if port < 1 || port > 65535 {
		return "", fmt.Errorf("%d is not a valid port for the PingFederate server.", port)
	}
	return "https://" + net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// FetchPing reads PingFederate's metadata for the Microsoft Entra ID
// connection. A server that can't be reached is a FetchError ("Could not
// reach the PingFederate server at …"); a server that answers but has no
// metadata for the connection is ErrNoSPConnection (inside a FetchError, so
// errors.Is finds it).
func FetchPing(ctx context.Context, hc *http.Client, server string, port int) (*Metadata, []byte, error) {
	u, err := PingMetadataURL(server, port)
	if err != nil {
		return nil, nil, err
	}
	base, _ := pingBase(server, port)
	const who = "the PingFederate server"
	status, body, err := get(ctx, hc, u, who)
	if err != nil {
		return nil, nil, err
	}
	missing := func(reason error) error {
		return &FetchError{URL: u, Step: "http", Err: fmt.Errorf("%v: %w", reason, ErrNoSPConnection), Msg: ErrNoSPConnection.Error()}
	}
	switch {
	case status == http.StatusOK && len(strings.TrimSpace(string(body))) > 0:
		m, perr := ParseSAML(body, PingPartnerSpID)
		switch {
		case perr == nil:
			return m, body, nil
		case errors.Is(perr, ErrNoSPConnection):
			// Federation metadata, but no identity provider for the partner.
			return nil, nil, missing(perr)
		case !looksLikeXML(body):
			// Guess: PingFederate's answer for an unknown or disabled
			// PartnerSpId is not documented; an error page instead of
			// metadata is read as the missing connection when the server
			// is otherwise up (below).
		default:
			return nil, nil, &FetchError{URL: u, Step: "parse", Err: perr, Msg: fmt.Sprintf("The PingFederate metadata at %s could not be used: %v", u, perr)}
		}
	case status == http.StatusOK, status == http.StatusNotFound, status == http.StatusBadRequest, status == http.StatusForbidden:
		// Guess: as above, an empty answer, 400, 403 or 404 for the
		// connection's metadata is how a missing or disabled connection
		// shows; the heartbeat tells it from a server that isn't
		// PingFederate.
	default:
		return nil, nil, &FetchError{URL: u, Step: "http", Err: fmt.Errorf("HTTP %d", status),
			Msg: fmt.Sprintf("The PingFederate server answered %s with %d %s. Ask the PingFederate administrator to check the server.", u, status, http.StatusText(status))}
	}
	// The server answered, but not with the connection's metadata: is it
	// PingFederate at all? /pf/heartbeat.ping answers 200 on a running
	// PingFederate (its documented health check).
	// Guess: that the heartbeat is enabled (PingFederate's default); a server
	// with it turned off is reported as "not PingFederate", not as the
	// missing connection.
	hb := base + "/pf/heartbeat.ping"
	hbStatus, _, hbErr := get(ctx, hc, hb, who)
	if hbErr == nil && hbStatus == http.StatusOK {
		return nil, nil, missing(fmt.Errorf("HTTP %d for the connection's metadata", status))
	}
	return nil, nil, &FetchError{URL: u, Step: "http", Err: fmt.Errorf("HTTP %d, heartbeat: %v", status, statusOrErr(hbStatus, hbErr)),
		Msg: fmt.Sprintf("The server at %s answered, but not as a PingFederate server: %s gave no metadata and %s did not answer OK. Check the server name and port with the PingFederate administrator.", base, u, hb)}
}

func statusOrErr(status int, err error) string {
	if err != nil {
		return err.Error()
	}
	return "HTTP " + strconv.Itoa(status)
}

func looksLikeXML(b []byte) bool {
	s := strings.TrimSpace(strings.TrimPrefix(string(b), "\xef\xbb\xbf"))
	return strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "<md:") || strings.HasPrefix(s, "<EntityDescriptor") || strings.HasPrefix(s, "<EntitiesDescriptor")
}

// get fetches u and returns the status and the body (at most maxMetadata
// bytes). who names the server in messages ("the AD FS server").
func get(ctx context.Context, hc *http.Client, u, who string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, &FetchError{URL: u, Step: "connect", Err: err, Msg: fmt.Sprintf("%s is not a valid URL: %v", u, err)}
	}
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml;q=0.9, */*;q=0.1")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, transportError(u, who, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadata+1))
	if err != nil {
		return 0, nil, &FetchError{URL: u, Step: "http", Err: err, Msg: fmt.Sprintf("Could not read the answer of %s at %s: %v", who, u, err)}
	}
	if len(body) > maxMetadata {
		return 0, nil, &FetchError{URL: u, Step: "http", Err: errors.New("answer too large"), Msg: fmt.Sprintf("The answer of %s at %s is larger than %d MB: it is not federation metadata.", who, u, maxMetadata>>20)}
	}
	return resp.StatusCode, body, nil
}

// transportError sorts a failed request into the step that failed, with a
// message naming the URL.
func transportError(u, who string, err error) *FetchError {
	fe := &FetchError{URL: u, Err: err}
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var alert tls.AlertError
	var header tls.RecordHeaderError
	switch {
	case errors.As(err, &dnsErr):
		fe.Step = "resolve"
		if dnsErr.IsNotFound {
			fe.Msg = fmt.Sprintf("Could not reach %s at %s: the name %s is not in DNS.", who, u, dnsErr.Name)
		} else {
			fe.Msg = fmt.Sprintf("Could not reach %s at %s: DNS could not resolve %s (%v).", who, u, dnsErr.Name, dnsErr.Err)
		}
	case errors.As(err, &hostErr):
		fe.Step = "tls"
		fe.Msg = fmt.Sprintf("Could not reach %s at %s: its TLS certificate is not for this name (%v). The certificate must match the name the server is reached by.", who, u, tlsReason(err))
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &certErr):
		fe.Step = "tls"
		fe.Msg = fmt.Sprintf("Could not reach %s at %s: its TLS certificate is not trusted (%v). The certificate must be issued for this name by a certificate authority this server trusts.", who, u, tlsReason(err))
	case errors.As(err, &alert), errors.As(err, &header):
		fe.Step = "tls"
		fe.Msg = fmt.Sprintf("Could not reach %s at %s: the TLS handshake failed (%v).", who, u, tlsReason(err))
	case errors.Is(err, syscall.ECONNREFUSED):
		fe.Step = "connect"
		fe.Msg = fmt.Sprintf("Could not reach %s at %s: the connection was refused. Nothing listens on that port, or a firewall refuses the connection.", who, u)
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		fe.Step = "connect"
		fe.Msg = fmt.Sprintf("Could not reach %s at %s: it did not answer in time.", who, u)
	default:
		fe.Step = "connect"
		fe.Msg = fmt.Sprintf("Could not reach %s at %s: %v.", who, u, tlsReason(err))
	}
	return fe
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tlsReason is the innermost useful text of a request error (url.Error's
// "Get \"…\": " prefix removed: the message names the URL already).
func tlsReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

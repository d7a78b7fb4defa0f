package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fedWorld is a TLS server on loopback that stands for an AD FS farm and a
// PingFederate server, named through a test DNS server, with a CA the client
// trusts.
type fedWorld struct {
	host string // the test server's host:port on 127.0.0.1
	port int
	dns  string // the DNS server's address
	pool *x509.CertPool

	mu     sync.Mutex
	routes map[string]reply // path (with the query) → what the server answers
	asked  []string         // request URIs seen
}

type reply struct {
	status int
	body   string
}

func newFedWorld(t *testing.T) *fedWorld {
	t.Helper()
	ca, caKey := makeCert(t, certSpec{cn: "Contoso Test CA"})
	leaf, key := makeCert(t, certSpec{cn: "sts.contoso.test", dnsNames: []string{"sts.contoso.test", "ping.contoso.test"}, issuer: ca, issuerKey: caKey})
	w := &fedWorld{pool: x509.NewCertPool(), routes: map[string]reply{}}
	w.pool.AddCert(ca)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.asked = append(w.asked, r.URL.RequestURI())
		rep, ok := w.routes[r.URL.RequestURI()]
		w.mu.Unlock()
		if !ok {
			http.NotFound(rw, r)
			return
		}
		rw.Header().Set("Content-Type", "application/xml")
		rw.WriteHeader(rep.status)
		rw.Write([]byte(rep.body))
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leaf.Raw, ca.Raw}, PrivateKey: key}}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes refused on purpose
	srv.StartTLS()
	t.Cleanup(srv.Close)
	w.host = srv.Listener.Addr().String()
	_, p, _ := net.SplitHostPort(w.host)
	w.port, _ = strconv.Atoi(p)

	d := startDNS(t)
	d.SetA("sts.contoso.test", "127.0.0.1")
	d.SetA("ping.contoso.test", "127.0.0.1")
	d.SetA("wrongname.contoso.test", "127.0.0.1") // the certificate is not for it
	d.SetA("down.contoso.test", "127.0.0.1")
	w.dns = d.Addr()
	return w
}

func (w *fedWorld) set(path string, status int, body string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.routes[path] = reply{status, body}
}

func (w *fedWorld) client(trust bool) *http.Client {
	pool := w.pool
	if !trust {
		pool = x509.NewCertPool()
	}
	return HTTPClient(ResolverAt(w.dns), pool, 5*time.Second)
}

// closedPort is a loopback port nobody listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

const (
	adfsPath = "/FederationMetadata/2007-06/FederationMetadata.xml"
	pingPath = "/pf/federation_metadata.ping?PartnerSpId=urn%3Afederation%3AMicrosoftOnline"
	beatPath = "/pf/heartbeat.ping"
)

func TestFetchADFS(t *testing.T) {
	w := newFedWorld(t)
	cert, key := makeCert(t, certSpec{cn: "ADFS Signing", noEKU: true})
	doc := signXML(t, metadataDoc(t, "adfs-metadata.xml", cert, cert), key, cert)
	port := strconv.Itoa(w.port)
	closed := strconv.Itoa(closedPort(t))

	tests := []struct {
		name    string
		farm    string
		status  int
		body    string
		trust   bool
		step    string // "" = success
		msgPart string
	}{
		{"metadata", "sts.contoso.test:" + port, 200, string(doc), true, "", ""},
		{"not found", "sts.contoso.test:" + port, 404, "", true, "http", "404 Not Found"},
		{"not metadata", "sts.contoso.test:" + port, 200, "<html>Welcome</html>", true, "parse", "not federation metadata"},
		{"tampered", "sts.contoso.test:" + port, 200, strings.Replace(string(doc), "/adfs/ls/", "/evil/", 1), true, "parse", "does not verify"},
		{"untrusted certificate", "sts.contoso.test:" + port, 200, string(doc), false, "tls", "not trusted"},
		{"certificate for another name", "wrongname.contoso.test:" + port, 200, string(doc), true, "tls", "not for this name"},
		{"name not in DNS", "nowhere.contoso.test:" + port, 200, string(doc), true, "resolve", "not in DNS"},
		{"nobody listening", "down.contoso.test:" + closed, 200, string(doc), true, "connect", "Could not reach the AD FS server at https://down.contoso.test:" + closed + adfsPath + ": the connection was refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.set(adfsPath, tt.status, tt.body)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m, body, err := FetchADFS(ctx, w.client(tt.trust), tt.farm)
			if tt.step == "" {
				if err != nil {
					t.Fatal(err)
				}
				if m.EntityID != "http://sts.contoso.test/adfs/services/trust" || m.SignedBy != thumbprint(cert) || string(body) != tt.body {
					t.Errorf("metadata %q signed by %q, body %d bytes", m.EntityID, m.SignedBy, len(body))
				}
				return
			}
			var fe *FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v (%T), want a *FetchError", err, err)
			}
			if fe.Step != tt.step {
				t.Errorf("Step = %q, want %q (%v)", fe.Step, tt.step, fe.Err)
			}
			if !strings.Contains(fe.Error(), tt.msgPart) {
				t.Errorf("message %q doesn't say %q", fe.Error(), tt.msgPart)
			}
			if wantURL := "https://" + tt.farm + adfsPath; fe.URL != wantURL || !strings.Contains(fe.Msg, wantURL) {
				t.Errorf("URL %q, message %q: want both to name %s", fe.URL, fe.Msg, wantURL)
			}
		})
	}
}

func TestFetchADFSRefusesBadFarm(t *testing.T) {
	for _, farm := range []string{"", "https://sts.contoso.test", "sts", "sts.contoso.test:0", "sts.contoso.test:99999", "sts.contoso.test/adfs"} {
		if _, _, err := FetchADFS(context.Background(), http.DefaultClient, farm); err == nil {
			t.Errorf("FetchADFS(%q) succeeded", farm)
		}
	}
}

func TestFetchPing(t *testing.T) {
	w := newFedWorld(t)
	cert, key := makeCert(t, certSpec{cn: "Ping Signing", noEKU: true})
	doc := string(signXML(t, metadataDoc(t, "ping-metadata.xml", cert, nil), key, cert))
	spOnly := `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:federation:MicrosoftOnline"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`

	tests := []struct {
		name       string
		server     string
		port       int
		meta       reply
		heartbeat  reply // status 0: no heartbeat (404)
		noConn     bool  // ErrNoSPConnection expected
		step       string
		msgPart    string
		wantSigned bool
	}{
		{name: "metadata", server: "ping.contoso.test", port: w.port, meta: reply{200, doc}, heartbeat: reply{200, "OK"}, wantSigned: true},
		{name: "metadata, server as a URL", server: "https://ping.contoso.test:" + strconv.Itoa(w.port) + "/", meta: reply{200, doc}, wantSigned: true},
		{name: "no connection: 404", server: "ping.contoso.test", port: w.port, meta: reply{404, ""}, heartbeat: reply{200, "OK"}, noConn: true},
		{name: "no connection: empty", server: "ping.contoso.test", port: w.port, meta: reply{200, ""}, heartbeat: reply{200, "OK"}, noConn: true},
		{name: "no connection: an error page", server: "ping.contoso.test", port: w.port, meta: reply{200, "<html>Unknown partner</html>"}, heartbeat: reply{200, "OK"}, noConn: true},
		{name: "no connection: no IdP in the metadata", server: "ping.contoso.test", port: w.port, meta: reply{200, spOnly}, noConn: true},
		{name: "not PingFederate", server: "ping.contoso.test", port: w.port, meta: reply{404, ""}, step: "http", msgPart: "not as a PingFederate server"},
		{name: "server error", server: "ping.contoso.test", port: w.port, meta: reply{500, "boom"}, heartbeat: reply{200, "OK"}, step: "http", msgPart: "500 Internal Server Error"},
		{name: "tampered metadata", server: "ping.contoso.test", port: w.port, meta: reply{200, strings.Replace(doc, "SSO.saml2", "SSO.evil", 1)}, heartbeat: reply{200, "OK"}, step: "parse", msgPart: "does not verify"},
		{name: "unreachable", server: "down.contoso.test", port: closedPort(t), step: "connect", msgPart: "Could not reach the PingFederate server at https://down.contoso.test:"},
		{name: "certificate for another name", server: "wrongname.contoso.test", port: w.port, meta: reply{200, doc}, step: "tls", msgPart: "Could not reach the PingFederate server"},
		{name: "name not in DNS", server: "nowhere.contoso.test", port: w.port, step: "resolve", msgPart: "not in DNS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.mu.Lock()
			w.routes, w.asked = map[string]reply{}, nil
			w.mu.Unlock()
			if tt.meta.status != 0 {
				w.set(pingPath, tt.meta.status, tt.meta.body)
			}
			if tt.heartbeat.status != 0 {
				w.set(beatPath, tt.heartbeat.status, tt.heartbeat.body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			m, _, err := FetchPing(ctx, w.client(true), tt.server, tt.port)
			switch {
			case tt.noConn:
				if !errors.Is(err, ErrNoSPConnection) {
					t.Fatalf("err = %v, want ErrNoSPConnection", err)
				}
				if err.Error() != ErrNoSPConnection.Error() {
					t.Errorf("message %q, want Entra Connect's text", err.Error())
				}
				return
			case tt.step != "":
				var fe *FetchError
				if !errors.As(err, &fe) || errors.Is(err, ErrNoSPConnection) {
					t.Fatalf("err = %v (%T), want a *FetchError that is not ErrNoSPConnection", err, err)
				}
				if fe.Step != tt.step {
					t.Errorf("Step = %q, want %q (%v)", fe.Step, tt.step, fe.Err)
				}
				if !strings.Contains(fe.Error(), tt.msgPart) {
					t.Errorf("message %q doesn't say %q", fe.Error(), tt.msgPart)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if m.Protocol != "saml" || m.PassiveSignInURI != "https://ping.contoso.test:9031/idp/SSO.saml2" || (m.SignedBy != "") != tt.wantSigned {
				t.Errorf("metadata: protocol %q, passive %q, signed by %q", m.Protocol, m.PassiveSignInURI, m.SignedBy)
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			if len(w.asked) != 1 || w.asked[0] != pingPath {
				t.Errorf("the server was asked %q, want only %q", w.asked, pingPath)
			}
		})
	}
}

func TestPingMetadataURL(t *testing.T) {
	const q = "/pf/federation_metadata.ping?PartnerSpId=urn%3Afederation%3AMicrosoftOnline"
	tests := []struct {
		server string
		port   int
		want   string // "" = an error
	}{
		{"ping.contoso.com", 9031, "https://ping.contoso.com:9031" + q},
		{"ping.contoso.com", 0, "https://ping.contoso.com:9031" + q},
		{"ping.contoso.com", 443, "https://ping.contoso.com:443" + q},
		{"https://ping.contoso.com", 0, "https://ping.contoso.com:9031" + q},
		{"https://ping.contoso.com:9999/pf/whatever", 0, "https://ping.contoso.com:9999" + q},
		{"https://ping.contoso.com:9999", 9031, "https://ping.contoso.com:9031" + q},
		{"ping.contoso.com:8443", 0, "https://ping.contoso.com:8443" + q},
		{" ping.contoso.com ", 9031, "https://ping.contoso.com:9031" + q},
		{"http://ping.contoso.com", 9031, ""},
		{"", 9031, ""},
		{"ping", 9031, ""},
		{"ping.contoso.com", 70000, ""},
		{"ping.contoso.com", -1, ""},
		{"https://", 9031, ""},
	}
	for _, tt := range tests {
		got, err := PingMetadataURL(tt.server, tt.port)
		if tt.want == "" {
			if err == nil {
				t.Errorf("PingMetadataURL(%q, %d) = %q, want an error", tt.server, tt.port, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("PingMetadataURL(%q, %d) = %q, %v; want %q", tt.server, tt.port, got, err, tt.want)
		}
	}
}

func TestHTTPClient(t *testing.T) {
	hc := HTTPClient(nil, nil, 3*time.Second)
	tr, ok := hc.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T", hc.Transport)
	}
	if tr.Proxy != nil {
		t.Error("the client takes a proxy from the environment")
	}
	if tr.TLSClientConfig.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x, want TLS 1.2", tr.TLSClientConfig.MinVersion)
	}
	if hc.Timeout != 3*time.Second {
		t.Errorf("Timeout %v", hc.Timeout)
	}

	// A TLS 1.1-only server is refused.
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{MaxVersion: tls.VersionTLS11}
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	resp, err := HTTPClient(nil, pool, 3*time.Second).Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatal("a TLS 1.1 server was accepted")
	}
	// The same client trusts the server at TLS 1.2.
	srv2 := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv2.Close()
	pool.AddCert(srv2.Certificate())
	resp, err = HTTPClient(nil, pool, 3*time.Second).Get(srv2.URL)
	if err != nil {
		t.Fatalf("TLS 1.2 server: %v", err)
	}
	resp.Body.Close()
}

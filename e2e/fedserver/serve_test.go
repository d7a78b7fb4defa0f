package fedserver

import (
	"crypto/tls"
	"encoding/xml"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/crewjam/saml"
)

// Serve speaks HTTPS with the configured certificate, takes PingFederate's
// port from its listener, and refuses a listener beyond loopback.
func TestServeTLS(t *testing.T) {
	key, cert, err := NewSigning("127.0.0.1") // any key pair does for the HTTPS certificate
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{PingHost: "pf.corp.example.test", RelyingParty: testRP, Authenticate: fakeAuth,
		TLSCert: tls.Certificate{Certificate: [][]byte{cert.Raw}, PrivateKey: key, Leaf: cert}})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		InsecureSkipVerify: true, // the certificate has no SAN; it is compared below
	}}}
	resp, err := c.Get("https://127.0.0.1:" + port + "/pf/federation_metadata.ping?PartnerSpId=urn:federation:MicrosoftOnline")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.TLS == nil || !resp.TLS.PeerCertificates[0].Equal(cert) {
		t.Fatalf("not served with the configured certificate")
	}
	body, _ := io.ReadAll(resp.Body)
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(body, &ed); err != nil {
		t.Fatal(err)
	}
	if want := "https://pf.corp.example.test:" + port + "/idp"; ed.EntityID != want {
		t.Errorf("entityID %q, want %q", ed.EntityID, want)
	}

	if err := s.Serve(fakeAddr{l, &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 443}}); err == nil {
		t.Error("Serve accepted a listener beyond loopback")
	}
}

// fakeAddr is a listener that says it listens elsewhere.
type fakeAddr struct {
	net.Listener
	addr net.Addr
}

func (f fakeAddr) Addr() net.Addr { return f.addr }

package fedserver

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/PuerkitoBio/goquery"
)

// The fake forest of the unit tests: one user, one password.
const (
	testUPN      = "tuser003@corp.example.test"
	testPassword = "Unit-Test-Pa55word!"
	testRP       = "https://127.0.0.1:8443/login.srf"
)

var testGUID = []byte{0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}

func fakeAuth(_ context.Context, upn, password string) (Identity, error) {
	if !strings.EqualFold(upn, testUPN) || password != testPassword {
		return Identity{}, ErrBadCredentials
	}
	return Identity{UPN: testUPN, ImmutableID: base64.StdEncoding.EncodeToString(testGUID)}, nil
}

// syncBuffer is a log sink tests read after the server wrote to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testServer struct {
	*Server
	http *httptest.Server
	logs *syncBuffer
}

// newTestServer serves cfg (with the fake forest and both roles unless cfg
// names them) over plain HTTP on loopback.
func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	if cfg.ADFSName == "" && cfg.PingHost == "" {
		cfg.ADFSName, cfg.PingHost = "sts.corp.example.test", "pf.corp.example.test:9031"
	}
	if cfg.RelyingParty == "" {
		cfg.RelyingParty = testRP
	}
	if cfg.Authenticate == nil {
		cfg.Authenticate = fakeAuth
	}
	logs := &syncBuffer{}
	cfg.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(func() {
		// Every password the tests type contains one of these.
		if strings.Contains(logs.String(), "Pa55word") || strings.Contains(logs.String(), "wrong-password") {
			t.Errorf("a password reached the log:\n%s", logs.String())
		}
	})
	return &testServer{Server: s, http: hs, logs: logs}
}

// client follows no redirects and keeps cookies.
func (ts *testServer) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	body   string
	doc    *goquery.Document
}

func (ts *testServer) do(t *testing.T, method, path string, form url.Values) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, ts.http.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := ts.client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := goquery.NewDocumentFromReader(bytes.NewReader(b))
	return page{status: resp.StatusCode, body: string(b), doc: doc}
}

// formOf is the form's fields (hidden ones and the values set) and action.
func formOf(t *testing.T, p page) (string, url.Values) {
	t.Helper()
	f := p.doc.Find("form").First()
	if f.Length() == 0 {
		t.Fatalf("no form in the page (status %d):\n%s", p.status, p.body)
	}
	v := url.Values{}
	f.Find("input").Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		val, _ := in.Attr("value")
		if name != "" {
			v.Add(name, val)
		}
	})
	action, _ := f.Attr("action")
	return action, v
}

// signIn fills the sign-in form of p and posts it back.
func (ts *testServer) signIn(t *testing.T, p page, upn, password string) page {
	t.Helper()
	action, v := formOf(t, p)
	for _, id := range []string{"fed-username", "fed-password", "fed-signin"} {
		if p.doc.Find(`[data-testid="`+id+`"]`).Length() != 1 {
			t.Fatalf("the sign-in form has no %s:\n%s", id, p.body)
		}
	}
	v.Set("UserName", upn)
	v.Set("Password", password)
	v.Set("fedAction", "signin")
	return ts.do(t, http.MethodPost, action, v)
}

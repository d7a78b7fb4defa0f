package handlers

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/setup"
)

// FuzzWizardSubmit posts random pages, actions, forms and uploads to
// POST /setup/{page} (and opens GET /setup/{page}) as a signed-in
// administrator: whatever comes in, never a 5xx. `make fuzz` runs it.
func FuzzWizardSubmit(f *testing.F) {
	// Short connection checks: the fuzzer finds SQL Server names quickly.
	e := newEnvWith(f, envOptions{checkTimeout: 200 * time.Millisecond})
	c := e.signedIn("admin")
	tok := c.csrf

	export, err := json.Marshal(setup.NewExport(setup.Defaults(), setup.ExportSource{InstallID: "x"}, "fuzz", "/data", time.Unix(0, 0)))
	if err != nil {
		f.Fatal(err)
	}
	forms := []string{
		"",
		badComponents.Encode(),
		"custom_location=on&location=%2F",
		"custom_location=on&location=%2Fproc%2Fself",
		"custom_location=on&location=" + url.QueryEscape(f.TempDir()),
		"use_sql=on&sql_server=%5B%3A%3A1%5D&sql_instance=%2C0&sql_database=&sql_permission=x&sql_login=sa",
		"use_service_account=on&service_account_type=managed&service_account_name=CONTOSO%5Csvc",
		"custom_groups=on&group_admins=A&group_operators=a&group_browse=..&group_passwordset=%00",
		"import_settings=on",
		"method=federation-adfs&sso=on",
		"method=federation-pingfederate",
		"method=none&sso=1",
		"legacy_sync_active=on&password_writeback=on&group_writeback=on&device_writeback=on&exchange_hybrid=on",
		"app_attribute_filtering=on&directory_extensions=on&password_hash_sync=",
		"staging=on&start_sync=yes",
		"method=%zz&broken",
		strings.Repeat("a=b&", 1000),
	}
	pages := []string{"", "nope", "..", "ready%2Fx", "configure"}
	for _, p := range setup.Pages {
		pages = append(pages, p.ID)
	}
	for i, p := range pages {
		for j, action := range []string{"next", "back", "", "configure", "bogus"} {
			f.Add(p, action, forms[(i+j)%len(forms)], false, []byte(nil))
		}
	}
	for _, form := range forms {
		f.Add(setup.PageComponents, "next", form, true, []byte(nil))
	}
	for _, file := range [][]byte{export, []byte("{}"), []byte("not json"), bytes.Repeat([]byte("x"), setup.MaxExportSize+1), append(export, export...)} {
		f.Add(setup.PageComponents, "next", "import_settings=on", true, file)
	}

	f.Fuzz(func(t *testing.T, page, action, form string, asMultipart bool, file []byte) {
		if page == "configure" {
			t.Skip("POST /setup/configure is a route of its own, not /setup/{page}; it starts jobs")
		}
		form = loopbackOnly(form)
		path := e.srv.URL + "/setup/" + url.PathEscape(page)
		var body io.Reader
		contentType := "application/x-www-form-urlencoded"
		if asMultipart {
			var buf bytes.Buffer
			mw := multipart.NewWriter(&buf)
			v, _ := url.ParseQuery(form)
			v.Set("action", action)
			for k, vs := range v {
				for _, s := range vs {
					_ = mw.WriteField(k, s)
				}
			}
			if file != nil {
				fw, err := mw.CreateFormFile("settings_file", "settings.json")
				if err != nil {
					t.Fatal(err)
				}
				_, _ = fw.Write(file)
			}
			_ = mw.Close()
			body, contentType = &buf, mw.FormDataContentType()
		} else {
			body = strings.NewReader(form + "&action=" + url.QueryEscape(action))
		}
		req, err := http.NewRequest(http.MethodPost, path, body)
		if err != nil {
			t.Skip(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("X-CSRF-Token", tok)
		check := func(req *http.Request) {
			res, err := c.hc.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
			}
			defer res.Body.Close()
			msg, _ := io.ReadAll(res.Body)
			if res.StatusCode >= 500 {
				t.Fatalf("%s %s (action %q, multipart %v, form %q): %d\n%s\nserver log:\n%s",
					req.Method, req.URL.Path, action, asMultipart, form, res.StatusCode, msg, tail(e.logs.String(), 3000))
			}
			if res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden {
				t.Fatalf("%s %s: %d: the session was lost", req.Method, req.URL.Path, res.StatusCode)
			}
		}
		check(req)
		get, err := http.NewRequest(http.MethodGet, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		check(get)
	})
}

// loopbackOnly pins every field that names a host to a loopback address: the
// connection checks are real, and a fuzzed name must never reach the network
// (nor a DNS server) beyond this machine.
func loopbackOnly(form string) string {
	// ParseQuery keeps every pair it could decode, even when it reports an
	// error; re-encoding them drops the malformed rest (the binders' fuzzers in
	// engine/setup cover malformed input without any network).
	v, _ := url.ParseQuery(form)
	for _, k := range []string{"sql_server", "host"} {
		if _, ok := v[k]; ok {
			v[k] = []string{"127.0.0.1"}
		}
	}
	for k := range v {
		if strings.HasPrefix(k, "host") || strings.HasPrefix(k, "sql_server") {
			v[k] = []string{"127.0.0.1"}
		}
	}
	return v.Encode()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

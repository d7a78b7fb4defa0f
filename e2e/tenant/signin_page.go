package tenant

import (
	"bytes"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
)

// signInPage is the view model of the emulator's sign-in page. Anything a
// test looks for carries a data-testid: tenant-username, tenant-password,
// tenant-signin, tenant-mfa-code, tenant-verify, tenant-error.
type signInPage struct {
	Step     string // "password", "mfa", "error" or "signedout"
	Ctx      string // the sign-in flow's id; the state itself stays on the server
	Action   string
	Tenant   string
	AppName  string
	Username string
	Error    string
	// Error page details, as the real page lists them.
	RequestID, CorrelationID, Timestamp string
}

var signInTemplate = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if eq .Step "signedout"}}Sign out{{else}}Sign in to your account{{end}}</title>
<style>
body{font-family:"Segoe UI",system-ui,sans-serif;background:#f2f2f2;margin:0}
main{max-width:440px;margin:48px auto;background:#fff;padding:44px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
.tenant{color:#666;font-size:.9rem;margin:0 0 16px}
h1{font-size:1.5rem;font-weight:600;margin:0 0 12px}
label{display:block;margin-top:16px;font-size:.9rem}
input{display:block;width:100%;box-sizing:border-box;padding:6px 0;border:0;border-bottom:1px solid #666;font-size:1rem}
button{margin-top:24px;background:#0067b8;color:#fff;border:0;padding:6px 24px;font-size:1rem;min-width:108px}
.error{color:#e81123}
dl{font-size:.8rem;color:#666}
</style>
</head>
<body>
<main>
<p class="tenant">{{.Tenant}}</p>
{{- if eq .Step "password"}}
<h1>Sign in</h1>
{{with .AppName}}<p>to continue to {{.}}</p>{{end}}
{{with .Error}}<p class="error" role="alert" data-testid="tenant-error">{{.}}</p>{{end}}
<form method="post" action="{{.Action}}" autocomplete="off">
<input type="hidden" name="ctx" value="{{.Ctx}}">
<label for="login">Email or username</label>
<input id="login" name="login" type="email" autocomplete="username" value="{{.Username}}" required autofocus data-testid="tenant-username">
<label for="passwd">Password</label>
<input id="passwd" name="passwd" type="password" autocomplete="current-password" data-testid="tenant-password">
<button type="submit" data-testid="tenant-signin">Sign in</button>
</form>
{{- else if eq .Step "mfa"}}
<p>{{.Username}}</p>
<h1>Enter code</h1>
<p>Please type in the code displayed on your authenticator app from your device</p>
{{with .Error}}<p class="error" role="alert" data-testid="tenant-error">{{.}}</p>{{end}}
<form method="post" action="{{.Action}}" autocomplete="off">
<input type="hidden" name="ctx" value="{{.Ctx}}">
<label for="otc">Code</label>
<input id="otc" name="otc" type="text" inputmode="numeric" autocomplete="one-time-code" required autofocus data-testid="tenant-mfa-code">
<button type="submit" data-testid="tenant-verify">Verify</button>
</form>
{{- else if eq .Step "signedout"}}
<h1>You signed out of your account</h1>
<p>It's a good idea to close all browser windows.</p>
{{- else}}
<h1>Sign in</h1>
<p>Sorry, but we’re having trouble signing you in.</p>
<p class="error" role="alert" data-testid="tenant-error">{{.Error}}</p>
<dl>
<dt>Request Id</dt><dd>{{.RequestID}}</dd>
<dt>Correlation Id</dt><dd>{{.CorrelationID}}</dd>
<dt>Timestamp</dt><dd>{{.Timestamp}}</dd>
</dl>
{{- end}}
</main>
</body>
</html>
`))

// formPostTemplate answers response_mode=form_post: a form that posts the
// response to the redirect URI, submitted by script or by hand.
var formPostTemplate = template.Must(template.New("formpost").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Working...</title></head>
<body>
<form method="post" name="hiddenform" action="{{.Action}}">
{{range $k, $vs := .Params}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">
{{end}}{{end}}<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.forms[0].submit()</script>
</body>
</html>
`))

// securityHeaders keep the page out of frames and caches. There is no
// form-action directive: browsers apply it to the redirect that follows the
// post, which goes to the client.
func securityHeaders(w http.ResponseWriter, scriptNonce string) {
	csp := "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
	if scriptNonce != "" {
		csp += "; script-src 'nonce-" + scriptNonce + "'"
	}
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
}

func (t *Tenant) renderSignIn(w http.ResponseWriter, r *http.Request, p signInPage) {
	p.Tenant = t.displayName
	p.Action = "/" + url.PathEscape(r.PathValue("tenant")) + signInPath
	var buf bytes.Buffer
	if err := signInTemplate.Execute(&buf, p); err != nil {
		slog.Error("tenant: unable to render the sign-in page", "err", err)
		http.Error(w, "unable to render the sign-in page", http.StatusInternalServerError)
		return
	}
	securityHeaders(w, "")
	_, _ = w.Write(buf.Bytes())
}

// renderError shows an error that must not go back to the client, with HTTP
// 200 as the real page does ("When the error is displayed on a web page, it
// uses an HTTP 200 status code", Azure AD authorization endpoint errors).
func (t *Tenant) renderError(w http.ResponseWriter, r *http.Request, e *tokenError) {
	_, trace, corr, ts := t.aadstsDescription(e)
	t.renderSignIn(w, r, signInPage{Step: "error", Error: aadstsMessage(e), RequestID: trace, CorrelationID: corr, Timestamp: ts})
}

func aadstsMessage(e *tokenError) string {
	return fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.msg)
}

func renderFormPost(w http.ResponseWriter, action string, params url.Values) {
	nonce := randomB64(16)
	var buf bytes.Buffer
	if err := formPostTemplate.Execute(&buf, map[string]any{"Action": action, "Params": params, "Nonce": nonce}); err != nil {
		http.Error(w, "unable to render the response", http.StatusInternalServerError)
		return
	}
	securityHeaders(w, nonce)
	_, _ = w.Write(buf.Bytes())
}

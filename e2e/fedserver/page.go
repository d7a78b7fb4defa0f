package fedserver

import (
	"bytes"
	"html/template"
	"net/http"
)

// The wrong-password wording of each product, shown on the sign-in form.
const (
	ADFSBadCredentials = "Incorrect user ID or password. Type the correct user ID and password, and try again."
	PingBadCredentials = "We didn't recognize the username or password you entered. Please try again."
)

// role is the product a page or token speaks for.
type role int

const (
	roleADFS role = iota
	rolePing
)

func (r role) String() string {
	if r == rolePing {
		return "PingFederate"
	}
	return "AD FS"
}

func (r role) badCredentials() string {
	if r == rolePing {
		return PingBadCredentials
	}
	return ADFSBadCredentials
}

// field is one hidden form field, kept in order.
type field struct{ Name, Value string }

type signInPage struct {
	Product  string
	Service  string // the federation service name or PingFederate host
	Action   string
	Hidden   []field
	Username string
	Error    string
}

var signInTmpl = template.Must(template.New("signin").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Sign In - {{.Product}} (hybridsync test stand-in)</title>
<style>body{font-family:sans-serif;margin:3em auto;max-width:28em}label{display:block;margin-top:1em}input[type=text],input[type=password]{width:100%;padding:.4em}.error{color:#b00}.note{color:#666;font-size:.9em}</style>
</head><body>
<h1 data-testid="fed-product">{{.Product}}</h1>
<p class="note" data-testid="fed-standin">hybridsync's test stand-in for {{.Product}} ({{.Service}}): it checks your password against the test forest.</p>
<form method="post" action="{{.Action}}">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}{{if .Error}}<p class="error" role="alert" data-testid="fed-error">{{.Error}}</p>
{{end}}<label>User name (someone@example.com)<input type="text" name="UserName" autocomplete="username" data-testid="fed-username" value="{{.Username}}" autofocus></label>
<label>Password<input type="password" name="Password" autocomplete="current-password" data-testid="fed-password"></label>
<p><button type="submit" name="fedAction" value="signin" data-testid="fed-signin">Sign in</button></p>
</form></body></html>
`))

type postPage struct {
	Product string
	Action  string
	Fields  []field
}

var postTmpl = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Working... - {{.Product}} (hybridsync test stand-in)</title></head>
<body>
<form method="post" action="{{.Action}}">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><p>Script is disabled. Click Continue to continue.</p></noscript>
<button type="submit" data-testid="fed-continue">Continue</button>
</form>
<script>document.forms[0].submit();</script>
</body></html>
`))

type errorPage struct {
	Product string
	Message string
}

var errorTmpl = template.Must(template.New("error").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Error - {{.Product}} (hybridsync test stand-in)</title></head>
<body><h1>{{.Product}}</h1>
<p data-testid="fed-standin">hybridsync's test stand-in for {{.Product}}.</p>
<p data-testid="fed-page-error">{{.Message}}</p></body></html>
`))

// render writes a page, or a plain 500 if the template fails (it is
// rendered to a buffer first so that a failure never leaves half a page).
func (s *Server) render(w http.ResponseWriter, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		s.log.Error("rendering a page", "template", t.Name(), "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// fail shows an error page; message is meant for the user and must not
// carry anything secret.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, rl role, status int, message string, err error) {
	s.log.Warn("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	s.render(w, status, errorTmpl, errorPage{Product: rl.String(), Message: message})
}

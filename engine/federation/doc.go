// Package federation is what the federation pages (AD FS and PingFederate)
// need beyond the directory and the tenant: the AD FS farm's TLS certificate
// read from an uploaded PKCS#12 file (cert.go), a federation server's
// metadata fetched and read — AD FS's WS-Federation document and
// PingFederate's SAML 2.0 document, with its XML signature checked
// (metadata.go, fetch.go) — and the name checks of the Verify and
// connectivity pages, asked of a chosen DNS server (dns.go). It also writes
// the PowerShell the administrator runs on the AD FS servers (scripts.go) and
// the settings file handed to a PingFederate administrator (export.go).
//
// The package knows nothing of HTTP handlers and never imports e2e/: the
// HTTP client and the resolver it is given decide where its requests go.
// Errors meant for the administrator are worded for them (FetchError.Msg,
// the Err* values, Problems).
package federation

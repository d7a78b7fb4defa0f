// Package web holds the console's static assets, embedded into the binary:
// htmx and its SSE extension (vendored, pinned), and the stylesheet.
package web

import "embed"

// Pinned asset versions; the file names carry them so that caches never mix.
const (
	HTMX    = "/static/vendor/htmx-2.0.11.min.js"
	HTMXSSE = "/static/vendor/htmx-ext-sse-2.2.4.min.js"
	CSS     = "/static/app.css"
	JS      = "/static/app.js"
)

//go:embed static
var FS embed.FS

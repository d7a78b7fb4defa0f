// Package web holds the console's static assets, embedded into the binary:
// htmx and its SSE extension (vendored, pinned), and the stylesheet.
package web

import (
	"embed"
	"io/fs"
)

// Pinned asset versions; the file names carry them so that caches never mix.
const (
	HTMX    = "/static/vendor/htmx-2.0.11.min.js"
	HTMXSSE = "/static/vendor/htmx-ext-sse-2.2.4.min.js"
	CSS     = "/static/app.css"
	JS      = "/static/app.js"
)

//go:embed static
var assets embed.FS

// FS holds the assets under static/. It opens files only: a directory does
// not exist, so a file server over it answers 404 for one instead of listing
// it.
var FS fs.FS = filesOnly{assets}

// filesOnly is a file system whose directories cannot be opened.
type filesOnly struct{ fsys fs.FS }

func (f filesOnly) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	info, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	if info.IsDir() {
		file.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return file, nil
}

package tenant

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxBody caps a request body after decompression; a larger body is
// refused the way an unreadable one is.
// Guess: a request body over 4 MB is refused.
const maxBody = 4 << 20

// decodeContent reads request bodies sent with Content-Encoding: gzip, as the
// Graph SDKs send them (Kiota's compression handler gzips every body by
// default and Graph accepts it). Any other encoding is refused with 415;
// Guess: 415 UnsupportedMediaType for a Content-Encoding other than gzip.
func decodeContent(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
		switch enc {
		case "", "identity":
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		case "gzip", "x-gzip":
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				writeGErr(w, badJSON(r))
				return
			}
			defer zr.Close()
			r.Body = io.NopCloser(io.LimitReader(zr, maxBody+1))
			r.Header.Del("Content-Encoding")
			r.ContentLength = -1
		default:
			writeGraphError(w, r, http.StatusUnsupportedMediaType, "UnsupportedMediaType",
				fmt.Sprintf("Content-Encoding '%s' is not supported.", enc), nil)
			return
		}
		// Every Graph answer carries request-id and client-request-id (the
		// caller's, or the request id); an error body repeats its own.
		rid := newGUID()
		crid := r.Header.Get("client-request-id")
		if crid == "" {
			crid = rid
		}
		w.Header().Set("request-id", rid)
		w.Header().Set("client-request-id", crid)
		next.ServeHTTP(w, r)
	})
}

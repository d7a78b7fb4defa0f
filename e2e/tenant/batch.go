package tenant

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// MaxBatchRequests is Graph's limit on requests in one $batch.
const MaxBatchRequests = 20

type batchRequest struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers,omitempty"`
	Body      json.RawMessage   `json:"body,omitempty"`
	DependsOn []string          `json:"dependsOn,omitempty"`
}

type batchResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// handleBatch runs each request against the Graph routes with the caller's
// identity, in order, honouring dependsOn (a failed dependency gives 424).
func (t *Tenant) handleBatch(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Requests []batchRequest `json:"requests"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.", nil)
		return
	}
	if len(in.Requests) == 0 {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.", nil)
		return
	}
	if len(in.Requests) > MaxBatchRequests {
		writeGraphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Limit of %d requests per batch exceeded.", MaxBatchRequests), nil)
		return
	}
	seen := map[string]bool{}
	for _, br := range in.Requests {
		id := strings.ToLower(br.ID)
		if br.ID == "" || seen[id] || br.Method == "" || br.URL == "" {
			writeGraphError(w, r, http.StatusBadRequest, "BadRequest", "Invalid batch payload format.", nil)
			return
		}
		for _, d := range br.DependsOn {
			if !seen[strings.ToLower(d)] {
				writeGraphError(w, r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Request '%s' depends on '%s', which is not an earlier request in the batch.", br.ID, d), nil)
				return
			}
		}
		seen[id] = true
	}
	g := t.graphMux()
	status := map[string]int{}
	out := make([]batchResponse, 0, len(in.Requests))
	for _, br := range in.Requests {
		failedDep := ""
		for _, d := range br.DependsOn {
			if s := status[strings.ToLower(d)]; s >= 400 {
				failedDep = d
			}
		}
		var resp batchResponse
		if failedDep != "" {
			e := newGraphError(r, http.StatusFailedDependency, "FailedDependency",
				fmt.Sprintf("Request '%s' failed because request '%s' it depends on failed.", br.ID, failedDep), nil)
			body, _ := json.Marshal(map[string]any{"error": e})
			resp = batchResponse{ID: br.ID, Status: http.StatusFailedDependency, Headers: map[string]string{"Content-Type": "application/json"}, Body: body}
		} else {
			resp = t.runBatchItem(g, r, br)
		}
		status[strings.ToLower(br.ID)] = resp.Status
		out = append(out, resp)
	}
	writeJSON(w, http.StatusOK, map[string]any{"responses": out})
}

func (t *Tenant) runBatchItem(g http.Handler, outer *http.Request, br batchRequest) batchResponse {
	u := "/v1.0/" + strings.TrimPrefix(br.URL, "/")
	var body *bytes.Reader
	if len(br.Body) > 0 && string(br.Body) != "null" {
		body = bytes.NewReader(br.Body)
	} else {
		body = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(strings.ToUpper(br.Method), u, body)
	req = req.WithContext(outer.Context())
	req.Host = outer.Host
	req.TLS = outer.TLS
	for k, v := range br.Headers {
		req.Header.Set(k, v)
	}
	if crid := outer.Header.Get("client-request-id"); crid != "" && req.Header.Get("client-request-id") == "" {
		req.Header.Set("client-request-id", crid)
	}
	rec := httptest.NewRecorder()
	if strings.EqualFold(br.Method, http.MethodPost) && strings.TrimPrefix(strings.ToLower(br.URL), "/") == "$batch" {
		writeGraphError(rec, req, http.StatusBadRequest, "BadRequest", "Nested batch requests are not supported.", nil)
	} else {
		g.ServeHTTP(rec, req)
	}
	res := batchResponse{ID: br.ID, Status: rec.Code, Headers: map[string]string{}}
	for _, h := range []string{"Content-Type", "Retry-After", "Location", "Cache-Control"} {
		if v := rec.Header().Get(h); v != "" {
			res.Headers[h] = v
		}
	}
	if b := bytes.TrimSpace(rec.Body.Bytes()); len(b) > 0 {
		res.Body = json.RawMessage(b)
	}
	return res
}

package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestHandler(t *testing.T) {
	tests := []struct {
		method, path string
		status       int
		auth         string
	}{
		{http.MethodPost, "/wsman", http.StatusUnauthorized, "Negotiate"},
		{http.MethodGet, "/wsman", http.StatusNotFound, ""},
		{http.MethodPost, "/", http.StatusNotFound, ""},
	}
	h := handler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, tt := range tests {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(tt.method, tt.path, nil))
		if w.Code != tt.status || w.Header().Get("WWW-Authenticate") != tt.auth {
			t.Errorf("%s %s: %d %q, want %d %q", tt.method, tt.path, w.Code, w.Header().Get("WWW-Authenticate"), tt.status, tt.auth)
		}
	}
}

func TestRunRefuses(t *testing.T) {
	for _, args := range [][]string{nil, {"127.0.0.1"}, {"0.0.0.0:5985"}, {"192.0.2.1:5985"}} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run(%q): no error", args)
		}
	}
}

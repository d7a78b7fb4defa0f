package tenant_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

func TestDiscoveryAndJWKS(t *testing.T) {
	tn, err := tenant.New(tenant.DefaultSeed(), tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	defer srv.Close()
	tests := []struct {
		path   string
		status int
	}{
		{"/" + tn.TenantID() + "/v2.0/.well-known/openid-configuration", 200},
		{"/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration", 200},
		{"/fabrikam.example.test/v2.0/.well-known/openid-configuration", 400}, // unverified
		{"/" + tn.TenantID() + "/discovery/v2.0/keys", 200},
		{"/v1.0/organization", 401},
	}
	for _, tt := range tests {
		resp, err := srv.Client().Get(srv.URL + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("GET %s = %d, want %d (%v)", tt.path, resp.StatusCode, tt.status, body)
		}
		if tt.status == 200 && tt.path[len(tt.path)-4:] == "keys" {
			keys, _ := body["keys"].([]any)
			if len(keys) != 1 {
				t.Errorf("jwks = %v", body)
			}
		}
		if tt.status == 200 && body["issuer"] != nil && body["issuer"] != srv.URL+"/"+tn.TenantID()+"/v2.0" {
			t.Errorf("issuer = %v", body["issuer"])
		}
		if tt.status == 401 && resp.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
	}
	resp, err := srv.Client().PostForm(srv.URL+"/"+tn.TenantID()+"/oauth2/v2.0/token", map[string][]string{"grant_type": {"device_code"}, "client_id": {"x"}, "scope": {"openid"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unsupported grant = %d", resp.StatusCode)
	}
}

func TestLoadSeed(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	b, _ := json.Marshal(tenant.DefaultSeed())
	if err := os.WriteFile(good, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := tenant.LoadSeed(good); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(bad, []byte(`{"tenantId":"x","initialDomain":"contoso.example.test"}`), 0o600)
	if _, err := tenant.LoadSeed(bad); err == nil {
		t.Fatal("accepted an initial domain outside onmicrosoft.com")
	}
}

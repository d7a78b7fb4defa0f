package cloud_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
)

// graphCall is what a fake Graph saw.
type graphCall struct {
	Method, Path string
	Body         map[string]any
}

// fakeGraph answers every request with status and body, recording the calls.
func fakeGraph(t *testing.T, status int, body string) (*cloud.Client, *[]graphCall) {
	t.Helper()
	var calls []graphCall
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := graphCall{Method: r.Method, Path: r.URL.EscapedPath()}
		if b, _ := io.ReadAll(r.Body); len(b) > 0 {
			if err := json.Unmarshal(b, &call.Body); err != nil {
				t.Errorf("request body is not JSON: %q", b)
			}
		}
		calls = append(calls, call)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := cloud.New(cloud.Config{GraphURL: srv.URL + "/v1.0"}, cloud.StaticToken("t"))
	if err != nil {
		t.Fatal(err)
	}
	return c, &calls
}

// created is Graph's 201 answer of the documentation's example.
const created = `{
  "@odata.type": "#microsoft.graph.internalDomainFederation",
  "id": "6601d14b-d113-8f64-fda2-9b5ddda18ecc",
  "issuerUri": "http://contoso.com/adfs/services/trust",
  "metadataExchangeUri": "https://sts.contoso.com/adfs/services/trust/mex",
  "signingCertificate": "MIIE3jCCAsagAwIBAgIQQcyDaZz3MI",
  "passiveSignInUri": "https://sts.contoso.com/adfs/ls",
  "preferredAuthenticationProtocol": "wsFed",
  "activeSignInUri": "https://sts.contoso.com/adfs/services/trust/2005/usernamemixed",
  "signOutUri": "https://sts.contoso.com/adfs/ls",
  "promptLoginBehavior": "nativeSupport",
  "isSignedAuthenticationRequestRequired": true,
  "nextSigningCertificate": "MIIE3jCCAsagAwIBAgIQQcyDaZz3MI",
  "signingCertificateUpdateStatus": {"certificateUpdateResult": "Success", "lastRunDateTime": "2021-08-25T07:44:46.2616778Z"},
  "federatedIdpMfaBehavior": "rejectMfaByFederatedIdp",
  "displayName": "Contoso"
}`

func wantFederation() cloud.InternalDomainFederation {
	yes := true
	return cloud.InternalDomainFederation{
		ODataType:                             cloud.InternalDomainFederationType,
		ID:                                    "6601d14b-d113-8f64-fda2-9b5ddda18ecc",
		DisplayName:                           "Contoso",
		IssuerURI:                             "http://contoso.com/adfs/services/trust",
		MetadataExchangeURI:                   "https://sts.contoso.com/adfs/services/trust/mex",
		PassiveSignInURI:                      "https://sts.contoso.com/adfs/ls",
		SignOutURI:                            "https://sts.contoso.com/adfs/ls",
		ActiveSignInURI:                       "https://sts.contoso.com/adfs/services/trust/2005/usernamemixed",
		SigningCertificate:                    "MIIE3jCCAsagAwIBAgIQQcyDaZz3MI",
		NextSigningCertificate:                "MIIE3jCCAsagAwIBAgIQQcyDaZz3MI",
		PreferredAuthenticationProtocol:       cloud.ProtocolWSFed,
		FederatedIdpMfaBehavior:               cloud.MFARejectByFederatedIdp,
		PromptLoginBehavior:                   cloud.PromptLoginNativeSupport,
		IsSignedAuthenticationRequestRequired: &yes,
		SigningCertificateUpdateStatus: &cloud.SigningCertificateUpdateStatus{
			CertificateUpdateResult: "Success",
			LastRunDateTime:         time.Date(2021, 8, 25, 7, 44, 46, 261677800, time.UTC),
		},
	}
}

func TestCreateFederationConfiguration(t *testing.T) {
	c, calls := fakeGraph(t, http.StatusCreated, created)
	in := wantFederation() // with the id and the read-only status set: neither may be sent
	got, err := c.CreateFederationConfiguration(context.Background(), "contoso.com", in)
	if err != nil {
		t.Fatal(err)
	}
	if want := wantFederation(); !reflect.DeepEqual(*got, want) {
		t.Errorf("created = %+v\nwant %+v", *got, want)
	}
	if len(*calls) != 1 {
		t.Fatalf("calls = %+v", *calls)
	}
	call := (*calls)[0]
	if call.Method != http.MethodPost || call.Path != "/v1.0/domains/contoso.com/federationConfiguration" {
		t.Errorf("request = %s %s", call.Method, call.Path)
	}
	// The documentation's request body, exactly.
	want := map[string]any{
		"@odata.type":                           "#microsoft.graph.internalDomainFederation",
		"displayName":                           "Contoso",
		"issuerUri":                             "http://contoso.com/adfs/services/trust",
		"metadataExchangeUri":                   "https://sts.contoso.com/adfs/services/trust/mex",
		"signingCertificate":                    "MIIE3jCCAsagAwIBAgIQQcyDaZz3MI",
		"passiveSignInUri":                      "https://sts.contoso.com/adfs/ls",
		"preferredAuthenticationProtocol":       "wsFed",
		"activeSignInUri":                       "https://sts.contoso.com/adfs/services/trust/2005/usernamemixed",
		"signOutUri":                            "https://sts.contoso.com/adfs/ls",
		"promptLoginBehavior":                   "nativeSupport",
		"isSignedAuthenticationRequestRequired": true,
		"nextSigningCertificate":                "MIIE3jCCAsagAwIBAgIQQcyDaZz3MI",
		"federatedIdpMfaBehavior":               "rejectMfaByFederatedIdp",
	}
	if !reflect.DeepEqual(call.Body, want) {
		t.Errorf("body = %v\nwant %v", call.Body, want)
	}
}

func TestCreateFederationConfigurationNeedsCertificate(t *testing.T) {
	c, calls := fakeGraph(t, http.StatusCreated, created)
	f := wantFederation()
	f.SigningCertificate = ""
	if _, err := c.CreateFederationConfiguration(context.Background(), "contoso.com", f); !errors.Is(err, cloud.ErrNoSigningCertificate) {
		t.Fatalf("err = %v, want ErrNoSigningCertificate", err)
	}
	if len(*calls) != 0 {
		t.Errorf("sent %+v", *calls)
	}
}

func TestUpdateFederationConfiguration(t *testing.T) {
	c, calls := fakeGraph(t, http.StatusOK, created)
	got, err := c.UpdateFederationConfiguration(context.Background(), "contoso.com", "6601d14b-d113-8f64-fda2-9b5ddda18ecc",
		cloud.InternalDomainFederation{ID: "ignored", DisplayName: "Contoso name change", FederatedIdpMfaBehavior: cloud.MFAAcceptIfDoneByFederatedIdp,
			SigningCertificateUpdateStatus: &cloud.SigningCertificateUpdateStatus{CertificateUpdateResult: "success"}})
	if err != nil || got == nil || got.ID != "6601d14b-d113-8f64-fda2-9b5ddda18ecc" {
		t.Fatalf("update = %+v, %v", got, err)
	}
	call := (*calls)[0]
	if call.Method != http.MethodPatch || call.Path != "/v1.0/domains/contoso.com/federationConfiguration/6601d14b-d113-8f64-fda2-9b5ddda18ecc" {
		t.Errorf("request = %s %s", call.Method, call.Path)
	}
	want := map[string]any{"displayName": "Contoso name change", "federatedIdpMfaBehavior": "acceptIfMfaDoneByFederatedIdp"}
	if !reflect.DeepEqual(call.Body, want) {
		t.Errorf("body = %v, want %v", call.Body, want)
	}

	c, _ = fakeGraph(t, http.StatusNoContent, "")
	got, err = c.UpdateFederationConfiguration(context.Background(), "contoso.com", "x", cloud.InternalDomainFederation{DisplayName: "y"})
	if err != nil || got != nil {
		t.Errorf("204: %+v, %v", got, err)
	}
}

func TestListAndDeleteFederationConfiguration(t *testing.T) {
	c, calls := fakeGraph(t, http.StatusOK, `{"value":[`+created+`]}`)
	got, err := c.FederationConfigurations(context.Background(), "sub.contoso.com")
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], wantFederation()) {
		t.Fatalf("list = %+v, %v", got, err)
	}
	if call := (*calls)[0]; call.Method != http.MethodGet || call.Path != "/v1.0/domains/sub.contoso.com/federationConfiguration" || call.Body != nil {
		t.Errorf("request = %+v", call)
	}

	c, calls = fakeGraph(t, http.StatusNoContent, "")
	if err := c.DeleteFederationConfiguration(context.Background(), "contoso.com", "a b"); err != nil {
		t.Fatal(err)
	}
	if call := (*calls)[0]; call.Method != http.MethodDelete || call.Path != "/v1.0/domains/contoso.com/federationConfiguration/a%20b" || call.Body != nil {
		t.Errorf("request = %+v", call)
	}
}

func TestFederationErrors(t *testing.T) {
	denied := `{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}`
	noConfig := `{"error":{"code":"Request_ResourceNotFound","message":"Resource 'federationConfiguration' does not exist or one of its queried reference-property objects are not present."}}`
	noDomain := `{"error":{"code":"Request_ResourceNotFound","message":"Resource 'nowhere.com' does not exist or one of its queried reference-property objects are not present."}}`
	ctx := context.Background()

	c, _ := fakeGraph(t, http.StatusForbidden, denied)
	_, err := c.CreateFederationConfiguration(ctx, "contoso.com", wantFederation())
	var ge *cloud.Error
	if !cloud.IsForbidden(err) || !errors.As(err, &ge) || ge.Code != "Authorization_RequestDenied" {
		t.Errorf("403 create: %v", err)
	}
	if err := c.DeleteFederationConfiguration(ctx, "contoso.com", "x"); !cloud.IsForbidden(err) {
		t.Errorf("403 delete: %v", err)
	}

	// A managed domain: no configuration, no error.
	c, _ = fakeGraph(t, http.StatusNotFound, noConfig)
	if got, err := c.FederationConfigurations(ctx, "contoso.com"); err != nil || len(got) != 0 {
		t.Errorf("managed domain: %+v, %v", got, err)
	}
	// A domain that does not exist stays an error.
	c, _ = fakeGraph(t, http.StatusNotFound, noDomain)
	if _, err := c.FederationConfigurations(ctx, "nowhere.com"); !cloud.IsNotFound(err) {
		t.Errorf("missing domain: %v", err)
	}
	if _, err := c.UpdateFederationConfiguration(ctx, "nowhere.com", "x", cloud.InternalDomainFederation{DisplayName: "y"}); !cloud.IsNotFound(err) {
		t.Errorf("update, missing: %v", err)
	}

	// Missing names are refused before anything is sent.
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { n.Add(1) }))
	defer srv.Close()
	c2, _ := cloud.New(cloud.Config{GraphURL: srv.URL + "/v1.0"}, cloud.StaticToken("t"))
	if _, err := c2.FederationConfigurations(ctx, " "); err == nil {
		t.Error("empty domain accepted")
	}
	if err := c2.DeleteFederationConfiguration(ctx, "contoso.com", ""); err == nil {
		t.Error("empty id accepted")
	}
	if _, err := c2.UpdateFederationConfiguration(ctx, "", "x", cloud.InternalDomainFederation{}); err == nil {
		t.Error("empty domain accepted on update")
	}
	if n.Load() != 0 {
		t.Errorf("%d requests sent", n.Load())
	}
}

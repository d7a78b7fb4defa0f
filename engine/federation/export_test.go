package federation

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestPingExportGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		s      PingSettings
	}{
		{"ping/objectguid.txt", PingSettings{Domain: "Corp.Example.Test.", SourceAnchor: "objectguid", TenantName: "Contoso"}},
		{"ping/consistencyguid-mail.txt", PingSettings{Domain: "corp.example.test", SourceAnchor: AnchorConsistencyGuid, UPNAttribute: "mail"}},
	} {
		name, body, err := PingExport(tc.s)
		if err != nil {
			t.Fatal(err)
		}
		if name != "pingfederate-corp.example.test.txt" {
			t.Errorf("file name = %s", name)
		}
		golden(t, tc.golden, body)
		text := string(body)
		for _, must := range []string{
			"urn:federation:MicrosoftOnline", "https://login.microsoftonline.com/login.srf",
			"https://nexus.microsoftonline-p.com/federationmetadata/2007-06/federationmetadata.xml",
			"https://nexus.microsoftonline-p.com/federationmetadata/saml20/federationmetadata.xml",
			"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", "IDPEmail",
			"/idp/SSO.saml2", "/idp/SLO.saml2", "/idp/sts.wst", "/idp/prp.wsf",
			"/pf/sts_mex.ping?PartnerSpId=urn:federation:MicrosoftOnline",
			"/pf/federation_metadata.ping?PartnerSpId=urn:federation:MicrosoftOnline",
			"SHA256", "corp.example.test",
		} {
			if !strings.Contains(text, must) {
				t.Errorf("%s lacks %q", tc.golden, must)
			}
		}
		anchor := AnchorObjectGUID
		if tc.s.SourceAnchor == AnchorConsistencyGuid {
			anchor = AnchorConsistencyGuid
		}
		if !strings.Contains(text, "base64 of "+anchor) {
			t.Errorf("%s does not name the source anchor %s", tc.golden, anchor)
		}
		upn := tc.s.UPNAttribute
		if upn == "" {
			upn = "userPrincipalName"
		}
		if !regexp.MustCompile(`(?m)^SAML 2\.0 attribute IDPEmail: +` + upn + "\r$").MatchString(text) {
			t.Errorf("%s: IDPEmail is not %s", tc.golden, upn)
		}
	}
}

func TestPingExportRefuses(t *testing.T) {
	for _, tc := range []struct {
		field string
		s     PingSettings
	}{
		{"Domain", PingSettings{SourceAnchor: AnchorObjectGUID}},
		{"Domain", PingSettings{Domain: "corp", SourceAnchor: AnchorObjectGUID}},
		{"SourceAnchor", PingSettings{Domain: "corp.example.test", SourceAnchor: "employeeID"}},
		{"UPNAttribute", PingSettings{Domain: "corp.example.test", SourceAnchor: AnchorObjectGUID, UPNAttribute: "mail)(x"}},
		{"TenantName", PingSettings{Domain: "corp.example.test", SourceAnchor: AnchorObjectGUID, TenantName: "a\r\nb"}},
	} {
		_, _, err := PingExport(tc.s)
		var de *DeploymentError
		if !errors.As(err, &de) || de.Field != tc.field {
			t.Errorf("%+v: err = %v, want one on %s", tc.s, err, tc.field)
		}
	}
}

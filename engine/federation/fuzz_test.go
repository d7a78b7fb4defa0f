package federation

import (
	"os"
	"testing"
	"time"
)

// Fuzz targets for what the federation pages read from outside: an uploaded
// certificate file and a federation server's metadata. Neither may panic,
// whatever the bytes; `make fuzz` runs them.

func FuzzParsePFX(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), "")
	f.Add([]byte{0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x03}, "password")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		c, err := ParsePFX(data, password)
		if err == nil {
			_ = c.Problems(time.Now())
			_ = c.Matches("sts.contoso.com")
		}
	})
}

func FuzzParseMetadata(f *testing.F) {
	for _, name := range []string{"testdata/adfs-metadata.xml", "testdata/ping-metadata.xml"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>`))
	f.Add([]byte(`<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"><EntityDescriptor entityID="a"/></EntitiesDescriptor>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if m, err := ParseADFS(doc); err == nil {
			_ = m.Problems()
		}
		if m, err := ParseSAML(doc, PingPartnerSpID); err == nil {
			_ = m.Problems()
		}
	})
}

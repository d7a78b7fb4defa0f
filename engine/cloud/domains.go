package cloud

import (
	"context"
	"net/http"
	"net/url"
)

// DomainDNSRecord is a domainDnsRecord: a domainDnsTxtRecord carries Text, a
// domainDnsMxRecord MailExchange and Preference (RecordType "Txt" / "Mx").
type DomainDNSRecord struct {
	ODataType        string `json:"@odata.type,omitempty"`
	ID               string `json:"id"`
	IsOptional       bool   `json:"isOptional"`
	Label            string `json:"label"`
	RecordType       string `json:"recordType"`
	SupportedService string `json:"supportedService"`
	TTL              int    `json:"ttl"`
	Text             string `json:"text,omitempty"`
	MailExchange     string `json:"mailExchange,omitempty"`
	Preference       int    `json:"preference,omitempty"`
}

// DomainVerificationRecords lists the records to publish before VerifyDomain
// (GET /domains/{id}/verificationDnsRecords): a TXT MS=ms######## and an MX.
func (c *Client) DomainVerificationRecords(ctx context.Context, name string) ([]DomainDNSRecord, error) {
	return getAll[DomainDNSRecord](ctx, c, "domains/"+url.PathEscape(name)+"/verificationDnsRecords")
}

// AddDomain adds a custom domain, unverified (POST /domains {"id": name}).
func (c *Client) AddDomain(ctx context.Context, name string) (*Domain, error) {
	var d Domain
	if err := c.do(ctx, http.MethodPost, "domains", map[string]string{"id": name}, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// VerifyDomain asks Entra to check the verification record
// (POST /domains/{id}/verify) and returns the domain, now verified. A missing
// record fails with IsDomainVerificationFailed.
func (c *Client) VerifyDomain(ctx context.Context, name string) (*Domain, error) {
	var d Domain
	if err := c.do(ctx, http.MethodPost, "domains/"+url.PathEscape(name)+"/verify", nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

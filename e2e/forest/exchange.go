package forest

import (
	"context"
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// ExchangeAttribute is one attributeSchema object that Exchange's
// `setup /PrepareSchema` adds to a forest, as hybridsync's features look for
// it. The definitions (cn, OID, syntax) are Exchange's.
type ExchangeAttribute struct {
	CN, Name, OID, Syntax, OMSyntax string
	// Classes are the classes whose mayContain gets the attribute.
	Classes []string
}

// ExchangeSchema are the Exchange attributes the test forests get from
// PrepareExchangeSchema: mailNickname with msExchRecipientTypeDetails is what
// makes a schema count as Exchange-extended (directory.ExchangeSchemaAttributes,
// which the Exchange features and group writeback need), and mailNickname
// and msExchMasterAccountSid are what two of Entra Connect's matching rules
// join users on. msExchMailboxGuid is left out, so that the rule's "mailNickname
// and one of" is exercised by a real forest with only one of the two.
var ExchangeSchema = []ExchangeAttribute{
	{"ms-Exch-Mail-Nickname", "mailNickname", "1.2.840.113556.1.2.447", "2.5.5.12", "64", []string{"user", "group", "contact"}},
	{"ms-Exch-Recipient-Type-Details", "msExchRecipientTypeDetails", "1.2.840.113556.1.4.7000.102.50776", "2.5.5.16", "65", []string{"user", "group", "contact"}},
	{"ms-Exch-Master-Account-Sid", "msExchMasterAccountSid", "1.2.840.113556.1.4.7000.102.50", "2.5.5.17", "4", []string{"user"}},
}

// PrepareExchangeSchema extends f's schema the way Exchange's
// `setup /PrepareSchema` does for the attributes in ExchangeSchema (Samba's
// schema is Windows' without Exchange): it adds their attributeSchema
// objects, lets the classes contain them, and reloads the schema. Schema
// additions can't be undone in Active Directory, so a test forest that gets
// them keeps them until it is restored from its cache again. Calling it again
// changes nothing.
func PrepareExchangeSchema(ctx context.Context, f *Forest) error {
	conn, err := f.Dial(ctx)
	if err != nil {
		return fmt.Errorf("prepare %s for Exchange: %w", f.Name, err)
	}
	defer conn.Close()
	schema := "CN=Schema,CN=Configuration," + f.BaseDN
	may := map[string][]string{}
	var classes []string
	for _, a := range ExchangeSchema {
		add := ldap.NewAddRequest("CN="+a.CN+","+schema, nil)
		add.Attribute("objectClass", []string{"top", "attributeSchema"})
		add.Attribute("cn", []string{a.CN})
		add.Attribute("lDAPDisplayName", []string{a.Name})
		add.Attribute("attributeID", []string{a.OID})
		add.Attribute("attributeSyntax", []string{a.Syntax})
		add.Attribute("oMSyntax", []string{a.OMSyntax})
		add.Attribute("isSingleValued", []string{"TRUE"})
		add.Attribute("adminDescription", []string{"hybridsync test stand-in for the Exchange schema attribute"})
		if err := conn.Add(add); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists) {
			return fmt.Errorf("prepare %s for Exchange: add %s: %w", f.Name, a.Name, err)
		}
		for _, c := range a.Classes {
			if may[c] == nil {
				classes = append(classes, c)
			}
			may[c] = append(may[c], a.Name)
		}
	}
	if err := schemaUpdateNow(conn); err != nil {
		return fmt.Errorf("prepare %s for Exchange: %w", f.Name, err)
	}
	for _, c := range classes {
		for _, name := range may[c] {
			// One value per request: a value already there refuses only itself.
			m := ldap.NewModifyRequest("CN="+c+","+schema, nil)
			m.Add("mayContain", []string{name})
			if err := conn.Modify(m); err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultAttributeOrValueExists) {
				return fmt.Errorf("prepare %s for Exchange: let %s contain %s: %w", f.Name, c, name, err)
			}
		}
	}
	if err := schemaUpdateNow(conn); err != nil {
		return fmt.Errorf("prepare %s for Exchange: %w", f.Name, err)
	}
	return nil
}

// schemaUpdateNow makes the DC reload its schema, so what was just added can
// be used at once.
func schemaUpdateNow(conn *ldap.Conn) error {
	m := ldap.NewModifyRequest("", nil)
	m.Replace("schemaUpdateNow", []string{"1"})
	if err := conn.Modify(m); err != nil {
		return fmt.Errorf("schemaUpdateNow: %w", err)
	}
	return nil
}

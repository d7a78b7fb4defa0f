package directory

import (
	"strings"
	"testing"
)

func TestSchemaRelease(t *testing.T) {
	for _, tc := range []struct {
		v    int
		want string
	}{
		{0, "unknown"},
		{44, "older than Windows Server 2008 R2"},
		{47, "Windows Server 2008 R2"},
		{56, "Windows Server 2012"},
		{60, "Windows Server 2012"},
		{69, "Windows Server 2012 R2"},
		{87, "Windows Server 2016"},
		{88, "Windows Server 2019 / 2022"},
		{91, "Windows Server 2025"},
	} {
		if got := SchemaRelease(tc.v); got != tc.want {
			t.Errorf("SchemaRelease(%d) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestSchemaInfoMissing(t *testing.T) {
	s := SchemaInfo{Present: map[string]bool{"msds-device": true, "msds-deviceid": true}}
	if !s.Has("msDS-Device") || s.Has("msDS-IsCompliant") {
		t.Errorf("Has: case-insensitive lookup broken: %+v", s)
	}
	got := s.Missing([]string{"msDS-Device", "msDS-IsCompliant", "msDS-DeviceID", "msDS-KeyCredentialLink"})
	if strings.Join(got, ",") != "msDS-IsCompliant,msDS-KeyCredentialLink" {
		t.Errorf("Missing = %v", got)
	}
}

// TestWritebackGrantsRoundTrip: the ACEs Prepare writes satisfy the checks
// readiness makes, after going through the binary encoding.
func TestWritebackGrantsRoundTrip(t *testing.T) {
	sid, err := ParseSID("S-1-5-21-1-2-3-1105")
	if err != nil {
		t.Fatal(err)
	}
	for name, grants := range map[string][]wbGrant{"device": deviceGrants(), "group": groupGrants()} {
		sd := &SecurityDescriptor{Revision: 1, DACL: &ACL{Revision: 4}}
		for _, g := range grants {
			sd.DACL.Add(g.ace(sid))
		}
		b, err := sd.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSecurityDescriptor(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range grants {
			ok := false
			for _, a := range back.DACL.ACEs {
				ok = ok || g.satisfiedBy(a)
			}
			if !ok {
				t.Errorf("%s: %q not satisfied by its own ACE", name, g.Name)
			}
			if g.Need&g.Mask != g.Need {
				t.Errorf("%s: %q grants %#x but needs %#x", name, g.Name, g.Mask, g.Need)
			}
		}
	}
}

func TestWritebackGrantSatisfiedBy(t *testing.T) {
	dev, grp := GUIDDeviceClass, GUIDGroupClass
	create := wbGrant{Mask: RightDSCreateChild | RightDSDeleteChild, Need: RightDSCreateChild | RightDSDeleteChild, Object: &dev}
	props := wbGrant{Mask: RightsGenericReadWrite, Need: RightDSReadProperty | RightDSWriteProperty, Descendants: &dev}
	ci := byte(AceFlagContainerInherit)
	for _, tc := range []struct {
		name string
		g    wbGrant
		a    ACE
		want bool
	}{
		{"exact create", create, ACE{Type: AceTypeAccessAllowedObject, Mask: 3, ObjectType: &dev}, true},
		{"create of any class", create, ACE{Type: AceTypeAccessAllowed, Mask: 3}, true},
		{"create of groups only", create, ACE{Type: AceTypeAccessAllowedObject, Mask: 3, ObjectType: &grp}, false},
		{"create only, no delete", create, ACE{Type: AceTypeAccessAllowedObject, Mask: 1, ObjectType: &dev}, false},
		{"create but inherit-only", create, ACE{Type: AceTypeAccessAllowedObject, Flags: ci | AceFlagInheritOnly, Mask: 3, ObjectType: &dev}, false},
		{"full control", create, ACE{Type: AceTypeAccessAllowed, Mask: 0xF01FF}, true},
		{"generic all", create, ACE{Type: AceTypeAccessAllowed, Mask: RightGenericAll}, true},
		{"deny is not allow", create, ACE{Type: AceTypeAccessDenied, Mask: 3}, false},
		{"props on devices", props, ACE{Type: AceTypeAccessAllowedObject, Flags: ci | AceFlagInheritOnly, Mask: 0x30, InheritedObjectType: &dev}, true},
		{"props on everything below", props, ACE{Type: AceTypeAccessAllowed, Flags: ci, Mask: 0x30}, true},
		{"props on groups below", props, ACE{Type: AceTypeAccessAllowedObject, Flags: ci | AceFlagInheritOnly, Mask: 0x30, InheritedObjectType: &grp}, false},
		{"props not inherited", props, ACE{Type: AceTypeAccessAllowed, Mask: 0x30}, false},
		{"read only", props, ACE{Type: AceTypeAccessAllowed, Flags: ci, Mask: RightDSReadProperty}, false},
		{"one property only", props, ACE{Type: AceTypeAccessAllowedObject, Flags: ci, Mask: 0x30, ObjectType: &GUIDLockoutTime}, false},
	} {
		if got := tc.g.satisfiedBy(tc.a); got != tc.want {
			t.Errorf("%s: satisfiedBy = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestDNUnder(t *testing.T) {
	for _, tc := range []struct {
		dn, base string
		want     bool
	}{
		{"OU=A,DC=corp,DC=example,DC=test", "DC=corp,DC=example,DC=test", true},
		{"ou=a,dc=CORP,dc=example,dc=test", "DC=corp,DC=example,DC=test", true},
		{"DC=corp,DC=example,DC=test", "DC=corp,DC=example,DC=test", true},
		{"OU=A,DC=fabrikam,DC=example,DC=test", "DC=corp,DC=example,DC=test", false},
		{"not a dn", "DC=corp", false},
	} {
		if got := DNUnder(tc.dn, tc.base); got != tc.want {
			t.Errorf("DNUnder(%q, %q) = %v", tc.dn, tc.base, got)
		}
	}
}

func TestWritebackCommands(t *testing.T) {
	p := ScriptParams{
		Domain:          Domain{DNS: "corp.example.test", DN: "DC=corp,DC=example,DC=test"},
		ConfigurationNC: "CN=Configuration,DC=corp,DC=example,DC=test",
		Account:         `CORP\hybridsync-abc123`,
		AccountDN:       "CN=hybridsync-abc123,CN=Users,DC=corp,DC=example,DC=test",
		OU:              "OU=O'Brien Groups,DC=corp,DC=example,DC=test",
	}
	dev := DeviceWritebackCommands(p)
	for _, want := range []string{
		"Initialize-ADSyncDeviceWriteback -DomainName 'corp.example.test' -AdConnectorAccount 'CORP\\hybridsync-abc123'",
		"$devices   = 'CN=RegisteredDevices,DC=corp,DC=example,DC=test'",
		"$drc       = 'CN=Device Registration Configuration,CN=Services,CN=Configuration,DC=corp,DC=example,DC=test'",
		"New-ADObject -Server $server -Name 'RegisteredDevices' -Type msDS-DeviceContainer -Path 'DC=corp,DC=example,DC=test'",
		"-Type msDS-DeviceRegistrationServiceContainer -Path $drc",
		"-Type msDS-DeviceRegistrationService -Path \"CN=Device Registration Services,$drc\" -OtherAttributes @{ 'msDS-DeviceLocation' = $devices; 'msDS-IsEnabled' = $true }",
		"dsacls $devices /G \"${account}:CCDC;msDS-Device\"",
		"dsacls $devices /I:S /G \"${account}:GRGW;;msDS-Device\"",
	} {
		if !strings.Contains(dev, want) {
			t.Errorf("device commands lack %q:\n%s", want, dev)
		}
	}
	grp := GroupWritebackCommands(p)
	for _, want := range []string{
		"Set-ADSyncUnifiedGroupWritebackPermissions -ADConnectorAccountDN 'CN=hybridsync-abc123,CN=Users,DC=corp,DC=example,DC=test' -ADobjectDN 'OU=O''Brien Groups,DC=corp,DC=example,DC=test'",
		"$ou      = 'OU=O''Brien Groups,DC=corp,DC=example,DC=test'",
		"dsacls $ou /G \"${account}:CCDC;group\"",
		"dsacls $ou /I:S /G \"${account}:GRGW;;group\"",
		"dsacls $ou /I:S /G \"${account}:SDDT;;group\"",
	} {
		if !strings.Contains(grp, want) {
			t.Errorf("group commands lack %q:\n%s", want, grp)
		}
	}
}

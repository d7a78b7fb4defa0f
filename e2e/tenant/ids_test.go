package tenant

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// TestCloudSIDRoundTrips reads a cloud SID back into the object id it was
// made from: four little-endian 32-bit numbers of the id's mixed-endian
// bytes.
func TestCloudSIDRoundTrips(t *testing.T) {
	for _, id := range []string{"00000000-0000-0000-0000-000000000001", "ffffffff-ffff-4fff-bfff-ffffffffffff", newGUID(), newGUID()} {
		sid := cloudSID(id)
		var a, b, c, d uint32
		if n, err := fmt.Sscanf(sid, "S-1-12-1-%d-%d-%d-%d", &a, &b, &c, &d); n != 4 || err != nil {
			t.Fatalf("cloudSID(%s) = %q, not S-1-12-1- and four numbers", id, sid)
		}
		raw := make([]byte, 16)
		binary.LittleEndian.PutUint32(raw[0:], a)
		binary.LittleEndian.PutUint32(raw[4:], b)
		binary.LittleEndian.PutUint32(raw[8:], c)
		binary.LittleEndian.PutUint32(raw[12:], d)
		// Undo the mixed-endian order of the first three GUID fields.
		g := []byte{raw[3], raw[2], raw[1], raw[0], raw[5], raw[4], raw[7], raw[6]}
		g = append(g, raw[8:]...)
		h := hex.EncodeToString(g)
		back := h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
		if back != strings.ToLower(id) {
			t.Errorf("cloudSID(%s) = %s reads back as %s", id, sid, back)
		}
	}
}

// TestSeededIdentifiersAreUnique: every role assignment and group the
// default tenant serves has an id and a SID of its own.
func TestSeededIdentifiersAreUnique(t *testing.T) {
	seed := DefaultSeed()
	// Two more holders of a role someone already holds: their assignments
	// must not share an id.
	for i := range 2 {
		seed.Admins = append(seed.Admins, SeedAccount{UserPrincipalName: fmt.Sprintf("second%d@%s", i, seed.InitialDomain), Password: "Passw0rd!second"})
	}
	g := newGraphEnv(t, seed, Options{})
	tok := g.appToken(t, "test-app", "RoleManagement.Read.Directory", "Directory.Read.All")
	status, _, body := g.call(t, tok, "GET", "roleManagement/directory/roleAssignments", nil)
	if status != 200 {
		t.Fatalf("list role assignments = %d %v", status, body)
	}
	seen := map[string]bool{}
	vals, _ := body["value"].([]any)
	if len(vals) < 3 {
		t.Fatalf("only %d role assignments", len(vals))
	}
	for _, v := range vals {
		id, _ := v.(map[string]any)["id"].(string)
		if seen[id] {
			t.Errorf("role assignment id %s served twice", id)
		}
		seen[id] = true
	}
	status, _, body = g.call(t, tok, "GET", "groups?$select=id,securityIdentifier", nil)
	if status != 200 {
		t.Fatalf("list groups = %d %v", status, body)
	}
	for _, v := range body["value"].([]any) {
		m := v.(map[string]any)
		sid, _ := m["securityIdentifier"].(string)
		if sid != cloudSID(m["id"].(string)) || seen[sid] {
			t.Errorf("group %v: securityIdentifier %q", m["id"], sid)
		}
		seen[sid] = true
	}
}

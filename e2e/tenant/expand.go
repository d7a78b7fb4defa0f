package tenant

import (
	"net/http"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/e2e/tenant/graphmeta"
)

// expandable are the navigation properties the emulator expands, by type.
// Any other navigation property the metadata knows is refused as not
// implemented (strict.go) rather than silently left out.
var expandable = map[string][]string{
	"group": {"members", "memberOf"},
	"user":  {"memberOf"},
}

// maxExpanded is how many related objects an expansion returns.
// Guess: an expansion returns at most 20 related objects (page /members for more).
const maxExpanded = 20

// checkExpandable refuses an expansion the emulator does not implement.
func checkExpandable(r *http.Request, s *served) *graphError {
	for _, x := range s.expand {
		if !slices.Contains(expandable[s.typ.ShortName()], x.nav.Name) {
			return notImplemented(r, "$expand="+x.nav.Name+" on "+s.typ.ShortName())
		}
	}
	return nil
}

// expandLocked adds the request's expansions to m, a rendered object of the
// route's type. Caller holds t.mu.
func (t *Tenant) expandLocked(r *http.Request, m map[string]any) {
	s := servedOf(r)
	if s == nil {
		return
	}
	id, _ := m["id"].(string)
	for _, x := range s.expand {
		var ids []string
		switch x.nav.Name {
		case "members":
			if g := t.groups[id]; g != nil {
				ids = g.Members
			}
		case "memberOf":
			ids = t.memberOfLocked(id)
		}
		out := []map[string]any{}
		for _, oid := range ids {
			if len(out) == maxExpanded {
				break
			}
			if o, _, ok := t.objectJSONLocked(oid, x.sel); ok {
				out = append(out, o)
			}
		}
		m[x.nav.Name] = out
	}
}

// selectFor narrows a $select made on a directoryObject collection to the
// properties typeName has (a group member is not given a
// userPrincipalName).
func selectFor(typeName string, sel []string) []string {
	if len(sel) == 0 {
		return nil
	}
	t := graphmeta.Lookup(typeName)
	out := []string{"id"}
	for _, p := range sel {
		if _, ok := t.Property(p); ok || isExtension(p) {
			out = append(out, p)
		}
	}
	return out
}

// typeOfObject is the @odata.type of a directory object by its type name.
func typeOfObject(name string) string {
	return "#microsoft.graph." + strings.TrimPrefix(name, "microsoft.graph.")
}

package tenant

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/e2e/tenant/graphmeta"
)

// The emulator is as strict as Graph by Microsoft's own v1.0 metadata
// (graphmeta): every Graph route names the type it serves (routeTypes), and
// the query options and writes of a request are checked against that type
// before its handler runs.

// served is what a request's route serves, and its query options checked
// against it.
type served struct {
	typ    *graphmeta.Type
	sel    []string // $select, each name spelled as the metadata spells it
	expand []expansion
	// count: $count=true in an advanced query (ConsistencyLevel:
	// eventual); without the header Graph ignores $count=true.
	count bool
}

// expansion is one item of $expand: a navigation property and the $select
// inside its parentheses.
type expansion struct {
	nav graphmeta.Property
	sel []string
}

type servedKey struct{}

func servedOf(r *http.Request) *served {
	s, _ := r.Context().Value(servedKey{}).(*served)
	return s
}

// directoryObjectTypes are the types a collection of directoryObject holds
// here (members, memberOf). Graph answers a $select of a derived type's
// property on such a collection (…/members?$select=userPrincipalName is the
// common use).
// Guess: a $select on a directoryObject collection may name a property of any type it holds.
var directoryObjectTypes = []string{"user", "group", "orgContact", "device", "servicePrincipal", "directoryRole", "application"}

// property finds a property of t; on directoryObject, of any type a
// directory object collection holds here.
func property(t *graphmeta.Type, name string) (graphmeta.Property, bool) {
	if p, ok := t.Property(name); ok {
		return p, true
	}
	if t.ShortName() == "directoryObject" {
		for _, d := range directoryObjectTypes {
			if p, ok := graphmeta.Lookup(d).Property(name); ok {
				return p, true
			}
		}
	}
	return graphmeta.Property{}, false
}

// knownProperty reports whether name is a property of typ (property), or a
// directory extension property registered and available for typ.
func (t *Tenant) knownProperty(typ *graphmeta.Type, name string) bool {
	if !isExtension(name) {
		_, ok := property(typ, name)
		return ok
	}
	short := typ.ShortName()
	target := strings.ToUpper(short[:1]) + short[1:]
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.availableExtensionLocked(name, target) != nil
}

// isExtension reports a directory extension property name
// (extension_<appId without dashes>_<name>); those are checked against the
// registered extension properties by the handlers (applications.go).
func isExtension(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), "extension_")
}

// noSuchProperty is Graph's answer to a query option naming a property the
// type lacks. Directory objects are open types (the metadata marks them so:
// they take extension_<appId>_<name> properties), so the name reaches the
// directory, which answers 400 Request_UnsupportedQuery "Property 'x' does
// not exist as a declared property or extension property." (observed in
// public reports for $select and $filter, also for an unregistered
// extension).
// Guess: an unknown property in $orderby of a directory object gets the directory's answer.
// Other types are refused by Graph's
// OData parser: 400 BadRequest "Parsing OData Select and Expand failed:
// Could not find a property named 'x' on type 'microsoft.graph.y'."
// (observed for $select; $expand on any type is the parser's too).
// Guess: $filter and $orderby of other types get the parser's message without its prefix.
func noSuchProperty(r *http.Request, option, name string, t *graphmeta.Type) *graphError {
	if t.Open && option != "$expand" {
		return newGraphError(r, http.StatusBadRequest, "Request_UnsupportedQuery",
			fmt.Sprintf("Property '%s' does not exist as a declared property or extension property.", name), nil)
	}
	msg := fmt.Sprintf("Could not find a property named '%s' on type '%s'.", name, t.Name)
	if option == "$select" || option == "$expand" {
		msg = "Parsing OData Select and Expand failed: " + msg
	}
	return newGraphError(r, http.StatusBadRequest, "BadRequest", msg, nil)
}

// notImplemented answers what Graph would do but the emulator does not:
// it refuses instead of pretending, so that a product change relying on it
// fails here rather than passing on a guess.
func notImplemented(r *http.Request, what string) *graphError {
	return newGraphError(r, http.StatusNotImplemented, "NotImplemented", "The tenant emulator does not implement "+what+".", nil)
}

// typed wraps a route's handler with the checks of its type (a metadata
// type name; "" for routes that take no query options, such as $batch or
// $ref). A cast segment ({cast}, e.g. microsoft.graph.group) narrows it.
func (t *Tenant) typed(typeName string, h http.HandlerFunc) http.HandlerFunc {
	if typeName == "" {
		return h
	}
	routeType := graphmeta.Lookup(typeName)
	if routeType == nil {
		panic("tenant: route type " + typeName + " is not in the metadata table")
	}
	return func(w http.ResponseWriter, r *http.Request) {
		typ := routeType
		if id := r.PathValue("id"); strings.HasSuffix(id, ")") {
			// A function bound to the collection (delta(), ...).
			writeGErr(w, notImplemented(r, "the function "+id))
			return
		}
		if cast := r.PathValue("cast"); cast != "" {
			if c := graphmeta.Lookup(cast); c != nil && c.Is(routeType.Name) {
				typ = c
			}
		}
		s, e := t.checkQuery(r, typ)
		if e != nil {
			writeGErr(w, e)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), servedKey{}, s)))
	}
}

// checkQuery checks $select, $expand, $filter and $orderby against typ.
func (t *Tenant) checkQuery(r *http.Request, typ *graphmeta.Type) (*served, *graphError) {
	q := r.URL.Query()
	s := &served{typ: typ, count: strings.EqualFold(q.Get("$count"), "true") && advanced(r)}
	sel, e := t.checkSelect(r, typ, q.Get("$select"))
	if e != nil {
		return nil, e
	}
	s.sel = sel
	if x := q.Get("$expand"); x != "" {
		if s.expand, e = t.checkExpand(r, typ, x); e != nil {
			return nil, e
		}
		if e := checkExpandable(r, s); e != nil {
			return nil, e
		}
	}
	if f := q.Get("$filter"); f != "" {
		if fe, err := parseFilter(f); err == nil {
			for _, p := range fe.props() {
				// A lambda's path (proxyAddresses/any(...)) names its
				// collection first.
				name, _, _ := strings.Cut(p, "/")
				if !t.knownProperty(typ, name) {
					return nil, noSuchProperty(r, "$filter", name, typ)
				}
			}
		}
		// A filter the emulator cannot parse is refused by the handler,
		// with Graph's "Invalid filter clause".
	}
	if o := q.Get("$orderby"); o != "" {
		for _, item := range strings.Split(o, ",") {
			name, _, _ := strings.Cut(strings.TrimSpace(item), " ")
			if !t.knownProperty(typ, name) {
				return nil, noSuchProperty(r, "$orderby", name, typ)
			}
		}
		return nil, notImplemented(r, "$orderby")
	}
	return s, nil
}

// advanced reports an advanced query: the ConsistencyLevel: eventual header
// (aad-advanced-queries).
func advanced(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual")
}

// checkSelect checks a $select list and spells each name as the metadata
// does (Graph matches names case-insensitively and answers with its own
// spelling).
func (t *Tenant) checkSelect(r *http.Request, typ *graphmeta.Type, list string) ([]string, *graphError) {
	var out []string
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			continue
		case name == "*":
			// Every structural property of the type.
			for _, p := range typ.Properties() {
				if !p.Navigation {
					out = append(out, p.Name)
				}
			}
			continue
		case isExtension(name):
			if !t.knownProperty(typ, name) {
				return nil, noSuchProperty(r, "$select", name, typ)
			}
			out = append(out, name)
			continue
		}
		p, ok := property(typ, name)
		if !ok {
			return nil, noSuchProperty(r, "$select", name, typ)
		}
		if !slices.Contains(out, p.Name) {
			out = append(out, p.Name)
		}
	}
	return out, nil
}

// checkExpand checks $expand: each item a navigation property of typ, with
// at most a $select inside its parentheses.
func (t *Tenant) checkExpand(r *http.Request, typ *graphmeta.Type, list string) ([]expansion, *graphError) {
	var out []expansion
	for _, item := range splitTopLevel(list) {
		name, opts, hasOpts := strings.Cut(item, "(")
		name = strings.TrimSpace(name)
		if name == "*" {
			return nil, notImplemented(r, "$expand=*")
		}
		p, ok := property(typ, name)
		if !ok {
			return nil, noSuchProperty(r, "$expand", name, typ)
		}
		if !p.Navigation {
			// The OData parser's message (Microsoft.OData.Core's expand
			// binder).
			// Guess: Graph answers an $expand of a structural property with the OData parser's message.
			return nil, newGraphError(r, http.StatusBadRequest, "BadRequest",
				fmt.Sprintf("Parsing OData Select and Expand failed: Property '%s' on type '%s' is not a navigation property or complex property. Only navigation properties can be expanded.", p.Name, typ.Name), nil)
		}
		x := expansion{nav: p}
		if hasOpts {
			opts = strings.TrimSuffix(strings.TrimSpace(opts), ")")
			for _, o := range strings.Split(opts, ";") {
				k, v, _ := strings.Cut(strings.TrimSpace(o), "=")
				if !strings.EqualFold(k, "$select") {
					return nil, notImplemented(r, "the query option "+k+" inside $expand")
				}
				target := graphmeta.Lookup(p.Type)
				if target == nil {
					return nil, notImplemented(r, "$expand of "+p.Name)
				}
				sel, e := t.checkSelect(r, target, v)
				if e != nil {
					return nil, e
				}
				x.sel = sel
			}
		}
		out = append(out, x)
	}
	if len(out) > 1 {
		// One relationship per request, as the emulator expands it.
		// Guess: more than one $expand item is refused with Request_UnsupportedQuery.
		return nil, newGraphError(r, http.StatusBadRequest, "Request_UnsupportedQuery", "Only one relationship can be expanded per request.", nil)
	}
	return out, nil
}

// splitTopLevel splits a $expand list on the commas outside parentheses.
func splitTopLevel(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// project renders an object: the $select list (or defaults when there is
// none) picked from all, a selected property with no value here given as
// null as Graph gives it; directory extension values by their own rules.
func project(all map[string]any, sel, defaults []string) map[string]any {
	if len(sel) == 0 {
		sel = defaults
	}
	out := make(map[string]any, len(sel)+1)
	if id, ok := all["id"]; ok {
		out["id"] = id
	}
	for _, p := range sel {
		if isExtension(p) {
			continue
		}
		out[p] = all[p] // nil when unset: the metadata said it exists
	}
	return out
}

// ---- writes --------------------------------------------------------------

// noSuchWriteProperty is Graph's answer to a body naming a property the type
// (a metadata type name) lacks. A type that is not open is refused by
// Graph's OData reader: 400 "The property 'x' does not exist on type
// 'microsoft.graph.y'. Make sure to only use property names that are
// defined by the type or mark the type as open type." (observed, with the
// code RequestBodyRead from other workloads).
// Guess: the OData reader's unknown-property answer has the code BadRequest.
// An
// open type (a directory object) passes the name to the directory, whose
// answer to a name it doesn't know is "Property 'x' does not exist as a
// declared property or extension property." (observed for queries).
// Guess: a write naming a property a directory object lacks gets the directory's "does not exist as a declared property" answer.
func noSuchWriteProperty(r *http.Request, name, typeName string) *graphError {
	if t := graphmeta.Lookup(typeName); t != nil && t.Open {
		return newGraphError(r, http.StatusBadRequest, "Request_BadRequest",
			fmt.Sprintf("Property '%s' does not exist as a declared property or extension property.", name), nil)
	}
	full := typeName
	if t := graphmeta.Lookup(typeName); t != nil {
		full = t.Name
	}
	return newGraphError(r, http.StatusBadRequest, "BadRequest",
		fmt.Sprintf("The property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", name, full), nil)
}

// checkWrite checks a create or update body's property names against the
// route's type: a name the type lacks is refused as Graph refuses it, a
// read-only one (by the metadata, or readOnly, the handler's own list) as
// Graph refuses that. One that Graph would store but the handler does not
// model (model: the JSON names v decodes) is kept as is by the types that
// keep others (others.go), and answered 501 NotImplemented by the rest,
// rather than accepted and dropped. Instance annotations (@odata.type) pass;
// nav@odata.bind passes when v models it. Every route that decodes a body
// is typed (routes.go); without a type only readOnly is checked.
func checkWrite(r *http.Request, raw map[string]json.RawMessage, readOnly map[string]bool, v any) *graphError {
	s := servedOf(r)
	model := jsonNames(v)
	names := make([]string, 0, len(raw))
	for name := range raw {
		names = append(names, name)
	}
	slices.Sort(names) // one answer for one body
	for _, name := range names {
		lower := strings.ToLower(name)
		if readOnly[lower] {
			return readOnlyProperty(r, name)
		}
		if s == nil || strings.HasPrefix(name, "@") || isExtension(name) {
			continue
		}
		if nav, ok := strings.CutSuffix(name, "@odata.bind"); ok {
			if p, found := s.typ.Property(nav); !found || !p.Navigation {
				return noSuchWriteProperty(r, nav, s.typ.Name)
			}
			if !model[lower] {
				return notImplemented(r, "binding "+nav)
			}
			continue
		}
		p, ok := s.typ.Property(name)
		switch {
		case !ok:
			return noSuchWriteProperty(r, name, s.typ.Name)
		case p.ReadOnly && r.Method == http.MethodPost && model[lower]:
			// "Read-only" in Microsoft's descriptions means "not changed by
			// an update": a few are given at creation (a domain's id, a
			// role assignment's roleDefinitionId), and the handler's body
			// type says which.
		case p.ReadOnly || p.Navigation:
			return readOnlyProperty(r, p.Name)
		case !model[lower] && !keepsOthers[s.typ.ShortName()]:
			return notImplemented(r, fmt.Sprintf("writing the property %s of %s", p.Name, s.typ.Name))
		}
	}
	return nil
}

// jsonNames lists, lower-cased, the JSON names of v's struct fields (v a
// pointer to a struct; anything else models nothing).
func jsonNames(v any) map[string]bool {
	out := map[string]bool{}
	rt := reflect.TypeOf(v)
	for rt != nil && rt.Kind() == reflect.Pointer {
		rt = rt.Elem()
	}
	if rt == nil || rt.Kind() != reflect.Struct {
		return out
	}
	for i := range rt.NumField() {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[strings.ToLower(name)] = true
	}
	return out
}

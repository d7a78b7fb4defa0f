package tenant

import (
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// ---- $filter ------------------------------------------------------------------

// filterExpr is the small part of OData $filter the emulator understands:
// comparisons "prop eq 'value'" and "startswith(prop,'value')" joined by
// "and" / "or" (and binding tighter), compared case-insensitively as the
// directory does. Anything else is refused as Graph refuses an unsupported
// query.
type filterExpr [][]filterCond // a disjunction of conjunctions

type filterCond struct {
	prop, value string
	prefix      bool
}

var errBadFilter = errors.New("invalid filter clause")

// splitOutsideQuotes splits s on sep (case-insensitive, surrounded by
// spaces) where it is not inside a single-quoted string.
func splitOutsideQuotes(s, sep string) []string {
	var out []string
	lower := strings.ToLower(s)
	sep = " " + sep + " "
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			inQuote = !inQuote
			continue
		}
		if !inQuote && strings.HasPrefix(lower[i:], sep) {
			out = append(out, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(out, s[start:])
}

// unquote reads a single-quoted OData string literal (” is a quote).
func unquote(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '\'' || s[len(s)-1] != '\'' {
		return "", false
	}
	inner := s[1 : len(s)-1]
	if strings.Count(strings.ReplaceAll(inner, "''", ""), "'") > 0 {
		return "", false
	}
	return strings.ReplaceAll(inner, "''", "'"), true
}

func parseFilter(s string) (filterExpr, error) {
	var out filterExpr
	for _, disj := range splitOutsideQuotes(strings.TrimSpace(s), "or") {
		var conj []filterCond
		for _, atom := range splitOutsideQuotes(strings.TrimSpace(disj), "and") {
			atom = strings.TrimSpace(atom)
			for strings.HasPrefix(atom, "(") && strings.HasSuffix(atom, ")") && !strings.HasPrefix(strings.ToLower(atom), "startswith(") {
				atom = strings.TrimSpace(atom[1 : len(atom)-1])
			}
			var c filterCond
			if rest, ok := strings.CutPrefix(strings.ToLower(atom), "startswith("); ok && strings.HasSuffix(atom, ")") {
				args := atom[len(atom)-len(rest) : len(atom)-1]
				prop, lit, ok := strings.Cut(args, ",")
				v, okq := unquote(lit)
				if !ok || !okq {
					return nil, errBadFilter
				}
				c = filterCond{prop: strings.TrimSpace(prop), value: v, prefix: true}
			} else {
				f := splitOutsideQuotes(atom, "eq")
				if len(f) != 2 {
					return nil, errBadFilter
				}
				v, ok := unquote(f[1])
				if !ok {
					// Bare literals: true, false, a GUID.
					v = strings.TrimSpace(f[1])
					if v == "" || strings.ContainsAny(v, " '()") {
						return nil, errBadFilter
					}
				}
				c = filterCond{prop: strings.TrimSpace(f[0]), value: v}
			}
			if c.prop == "" || strings.ContainsAny(c.prop, " '()") {
				return nil, errBadFilter
			}
			conj = append(conj, c)
		}
		out = append(out, conj)
	}
	return out, nil
}

// props lists the properties the filter names, to check them against the
// ones a resource supports.
func (f filterExpr) props() []string {
	var out []string
	for _, conj := range f {
		for _, c := range conj {
			out = append(out, c.prop)
		}
	}
	return out
}

// match evaluates the filter against an object; get returns a property's
// value as a string (and false when the object has no such property).
func (f filterExpr) match(get func(string) []string) bool {
	if len(f) == 0 {
		return true
	}
	for _, conj := range f {
		all := true
		for _, c := range conj {
			hit := false
			for _, v := range get(c.prop) {
				if c.prefix && strings.HasPrefix(strings.ToLower(v), strings.ToLower(c.value)) ||
					!c.prefix && strings.EqualFold(v, c.value) {
					hit = true
					break
				}
			}
			if !hit {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// filterOf parses the request's $filter and checks each property against
// supported; resource is the type name used in Graph's message.
func filterOf(r *http.Request, resource string, supported []string) (filterExpr, *graphError) {
	s := r.URL.Query().Get("$filter")
	if s == "" {
		return nil, nil
	}
	f, err := parseFilter(s)
	if err != nil {
		return nil, newGraphError(r, http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+s, nil)
	}
	for _, p := range f.props() {
		if !slices.ContainsFunc(supported, func(s string) bool { return strings.EqualFold(s, p) }) {
			return nil, newGraphError(r, http.StatusBadRequest, "Request_UnsupportedQuery",
				"Unsupported or invalid query filter clause specified for property '"+p+"' of resource '"+resource+"'.", nil)
		}
	}
	return f, nil
}

// ---- paging -------------------------------------------------------------------

// pageItem is one entry of a collection, rendered, with its position.
type pageItem struct {
	seq  int64
	body map[string]any
}

// servePage answers a collection GET: $top (1..999, default 100), an opaque
// $skiptoken carrying the last position served, and @odata.nextLink built
// from the request's own URL. items may be in any order.
func servePage(w http.ResponseWriter, r *http.Request, metadata string, items []pageItem) {
	q := r.URL.Query()
	top := 100
	if s := q.Get("$top"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 999 {
			writeGraphError(w, r, http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid page size specified: '"+s+"'. Must be between 1 and 999 inclusive.", nil)
			return
		}
		top = n
	}
	var after int64
	if s := q.Get("$skiptoken"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err == nil {
			after, err = strconv.ParseInt(strings.TrimPrefix(string(b), "seq:"), 10, 64)
		}
		if err != nil {
			writeGraphError(w, r, http.StatusBadRequest, "Directory_ExpiredPageToken", "The specified page token value has expired and can no longer be included in your request.", nil)
			return
		}
	}
	slices.SortFunc(items, func(a, b pageItem) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	i, _ := slices.BinarySearchFunc(items, after+1, func(it pageItem, s int64) int {
		switch {
		case it.seq < s:
			return -1
		case it.seq > s:
			return 1
		}
		return 0
	})
	rest := items[i:]
	page := rest[:min(top, len(rest))]
	vals := make([]map[string]any, 0, len(page))
	for _, it := range page {
		vals = append(vals, it.body)
	}
	body := map[string]any{"@odata.context": baseURL(r) + "/v1.0/$metadata#" + metadata, "value": vals}
	if s := servedOf(r); s != nil && s.count {
		body["@odata.count"] = len(items)
	}
	if len(rest) > len(page) {
		next := r.URL.Query()
		next.Set("$top", strconv.Itoa(top))
		next.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("seq:"+strconv.FormatInt(page[len(page)-1].seq, 10))))
		body["@odata.nextLink"] = baseURL(r) + r.URL.Path + "?" + strings.NewReplacer("%24", "$", "%2C", ",", "%27", "'", "%28", "(", "%29", ")").Replace(next.Encode())
	}
	writeJSON(w, http.StatusOK, body)
}

// ---- collections of directory objects ----------------------------------------

// listed is what the collection handlers need of a directory object: its
// properties for $filter and its JSON for $select.
type listed interface {
	prop(string) []string
	json(sel []string) map[string]any
}

// serveList answers GET on a collection of directory objects: those of objs
// (one of the tenant's maps, made at start and never replaced; read under
// t.mu) that match $filter over props, rendered with $select, a
// page at a time, in the order they were made (seq).
func serveList[T listed](t *Tenant, w http.ResponseWriter, r *http.Request, resource, collection string, props []string, objs map[string]T, seq func(T) int64) {
	f, e := filterOf(r, resource, props)
	if e != nil {
		writeGErr(w, e)
		return
	}
	sel := selectOf(r)
	t.mu.Lock()
	var items []pageItem
	for _, o := range objs {
		if f.match(o.prop) {
			m := o.json(sel)
			t.expandLocked(r, m)
			items = append(items, pageItem{seq: seq(o), body: m})
		}
	}
	t.mu.Unlock()
	servePage(w, r, collection, items)
}

// serveObject answers GET on one directory object: the one find returns
// (called under t.mu; false: there is none, a 404), rendered with $select.
func serveObject[T listed](t *Tenant, w http.ResponseWriter, r *http.Request, collection string, find func() (T, bool)) {
	t.mu.Lock()
	o, ok := find()
	var m map[string]any
	if ok {
		m = o.json(selectOf(r))
		t.expandLocked(r, m)
	}
	t.mu.Unlock()
	if !ok {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	m["@odata.context"] = baseURL(r) + "/v1.0/$metadata#" + collection + "/$entity"
	writeJSON(w, http.StatusOK, m)
}

// serveCount answers GET on a collection's $count segment: the number of
// objs that match $filter, as text/plain. Counting directory objects is an
// advanced query: without ConsistencyLevel: eventual Graph answers 400
// Request_BadRequest "$count is not currently supported."
// (aad-advanced-queries, "Error handling").
func serveCount[T listed](t *Tenant, w http.ResponseWriter, r *http.Request, resource string, props []string, objs map[string]T) {
	if !advanced(r) {
		writeGraphError(w, r, http.StatusBadRequest, "Request_BadRequest", "$count is not currently supported.", nil)
		return
	}
	f, e := filterOf(r, resource, props)
	if e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	n := 0
	for _, o := range objs {
		if f.match(o.prop) {
			n++
		}
	}
	t.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(strconv.Itoa(n)))
}

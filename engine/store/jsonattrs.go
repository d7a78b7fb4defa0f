package store

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// ParseAttrs reads attributes as the store keeps them (MVExported.Attrs)
// into m, emptied first, and returns it; a nil m is a new map. Values
// without an escape are parts of s, not copies.
func ParseAttrs(s string, m map[string][]string) (map[string][]string, error) {
	if m == nil {
		m = make(map[string][]string, strings.Count(s, `":[`))
	}
	clear(m)
	if s == "null" {
		return m, nil
	}
	if parseCompactAttrsInto(s, m) {
		return m, nil
	}
	clear(m)
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, err
	}
	return m, nil
}

// parseJSONAttrs reads an attribute map as appendJSONAttrs writes it (a
// JSON object of string arrays, or null) into *m, as json.Unmarshal
// would. The common form — compact, valid UTF-8 — is read without
// reflection, each value without an escape a part of s rather than a copy: a
// delta of 70,000 objects in a million read their exported state through
// json.Unmarshal in a third of the bytes it allocated. Anything else goes
// to json.Unmarshal.
func parseJSONAttrs(s string, m *map[string][]string) error {
	if fast, ok := parseCompactAttrs(s); ok {
		*m = fast
		return nil
	}
	return json.Unmarshal([]byte(s), m)
}

// parseCompactAttrs is parseJSONAttrs's reading without reflection; false
// when s is not in the form it reads.
func parseCompactAttrs(s string) (map[string][]string, bool) {
	if s == "null" {
		return nil, true
	}
	m := make(map[string][]string, strings.Count(s, `":[`))
	if !parseCompactAttrsInto(s, m) {
		return nil, false
	}
	return m, true
}

// parseCompactAttrsInto is parseCompactAttrs into an empty map m; false
// when s is not in the form it reads (m then holds what came before the
// fault). The values share one array, each its own part of it.
func parseCompactAttrsInto(s string, m map[string][]string) bool {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || !utf8.ValidString(s) {
		return false
	}
	if s == "{}" {
		return true
	}
	// At most a value for every two quotes (names and escaped quotes
	// only make it more).
	all := make([]string, 0, strings.Count(s, `"`)/2)
	i := 1
	// str reads the string that starts at i: as it is, or, when it holds
	// an escape (json.Marshal writes & as \u0026), through json.Unmarshal.
	str := func() (string, bool) {
		if i >= len(s) || s[i] != '"' {
			return "", false
		}
		escaped := false
		for k := i + 1; k < len(s); k++ {
			switch c := s[k]; {
			case c == '\\':
				escaped = true
				k++
			case c == '"':
				v := s[i+1 : k]
				if escaped {
					// Its own variable: one v escaping to the heap would
					// make every value an allocation.
					var u string
					if json.Unmarshal([]byte(s[i:k+1]), &u) != nil {
						return "", false
					}
					v = u
				}
				i = k + 1
				return v, true
			case c < 0x20:
				return "", false
			}
		}
		return "", false
	}
	next := func(c byte) bool {
		if i < len(s) && s[i] == c {
			i++
			return true
		}
		return false
	}
	for {
		k, ok := str()
		if !ok || !next(':') || !next('[') {
			return false
		}
		start := len(all)
		if !next(']') {
			for {
				v, ok := str()
				if !ok {
					return false
				}
				all = append(all, v)
				if next(']') {
					break
				}
				if !next(',') {
					return false
				}
			}
		}
		// An empty list is an empty slice, not nil, as json.Unmarshal's.
		m[k] = all[start:len(all):len(all)]
		if next(',') {
			continue
		}
		return i == len(s)-1 && s[i] == '}'
	}
}

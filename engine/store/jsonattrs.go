package store

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

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
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' || !utf8.ValidString(s) {
		return nil, false
	}
	m := make(map[string][]string, strings.Count(s, `":[`))
	if s == "{}" {
		return m, true
	}
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
					v = ""
					if json.Unmarshal([]byte(s[i:k+1]), &v) != nil {
						return "", false
					}
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
			return nil, false
		}
		vals := []string{}
		if !next(']') {
			for {
				v, ok := str()
				if !ok {
					return nil, false
				}
				vals = append(vals, v)
				if next(']') {
					break
				}
				if !next(',') {
					return nil, false
				}
			}
		}
		m[k] = vals
		if next(',') {
			continue
		}
		return m, i == len(s)-1 && s[i] == '}'
	}
}

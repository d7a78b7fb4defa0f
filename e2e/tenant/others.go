package tenant

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant/graphmeta"
)

// others are the writable properties of a user, group or device that the
// emulator has no field for (employeeId, city, onPremisesExtensionAttributes,
// ...): kept as the JSON written, by the metadata's spelling, checked
// against the property's type, and answered when selected, as Graph
// stores and answers them. Other types refuse such a property as not
// implemented (strict.go).
type others map[string]json.RawMessage

// keepsOthers are the types whose objects keep others.
var keepsOthers = map[string]bool{"user": true, "group": true, "device": true}

// othersOf takes from a write body (raw, as decodeBody returned it) the
// properties v does not model, each checked against its type.
func othersOf(r *http.Request, raw map[string]json.RawMessage, v any) (others, *graphError) {
	s := servedOf(r)
	if s == nil || !keepsOthers[s.typ.ShortName()] {
		return nil, nil
	}
	model := jsonNames(v)
	var out others
	for name, val := range raw {
		if model[strings.ToLower(name)] || strings.Contains(name, "@") || isExtension(name) {
			continue
		}
		p, ok := s.typ.Property(name)
		if !ok || p.ReadOnly || p.Navigation {
			continue // refused by checkWrite already
		}
		if e := checkValue(r, s.typ, p, val); e != nil {
			return nil, e
		}
		if out == nil {
			out = others{}
		}
		var b bytes.Buffer
		_ = json.Compact(&b, val)
		out[p.Name] = b.Bytes()
	}
	return out, nil
}

// decodeWrite is decodeBody for the types that keep others: it returns the
// body's properties and those of them v doesn't model, checked.
func decodeWrite(r *http.Request, readOnlyProps map[string]bool, v any) (map[string]json.RawMessage, others, *graphError) {
	raw, e := decodeBody(r, readOnlyProps, v)
	if e != nil {
		return nil, nil, e
	}
	more, e := othersOf(r, raw, v)
	if e != nil {
		return nil, nil, e
	}
	return raw, more, nil
}

// apply writes in over o: a null clears a property.
func (o *others) apply(in others) {
	for k, v := range in {
		if string(v) == "null" {
			delete(*o, k)
			continue
		}
		if *o == nil {
			*o = others{}
		}
		(*o)[k] = v
	}
}

// into adds o to an object's rendered properties.
func (o others) into(all map[string]any) {
	for k, v := range o {
		all[k] = v
	}
}

// invalidValue is the directory's answer to a value of the wrong type:
// "Invalid value specified for property 'x' of resource 'User'." (the
// wording Graph gives for invalid values of directory objects).
// Guess: a value of the wrong type gets "Invalid value specified for property".
func invalidValue(r *http.Request, owner *graphmeta.Type, prop string) *graphError {
	short := owner.ShortName()
	return badValue(r, prop, fmt.Sprintf("Invalid value specified for property '%s' of resource '%s'.", prop, strings.ToUpper(short[:1])+short[1:]))
}

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// checkValue checks a JSON value against a property's type: null where the
// property is nullable, an array for a collection, the Edm primitive, an
// enum member, or an object of a complex type whose properties are checked
// in turn (a name it lacks is refused as Graph's OData reader refuses it).
func checkValue(r *http.Request, owner *graphmeta.Type, p graphmeta.Property, val json.RawMessage) *graphError {
	val = bytes.TrimSpace(val)
	if string(val) == "null" {
		if p.Nullable || p.Collection {
			return nil
		}
		return invalidValue(r, owner, p.Name)
	}
	if p.Collection {
		var items []json.RawMessage
		if json.Unmarshal(val, &items) != nil {
			return invalidValue(r, owner, p.Name)
		}
		one := p
		one.Collection, one.Nullable = false, false
		for _, it := range items {
			if e := checkValue(r, owner, one, it); e != nil {
				return e
			}
		}
		return nil
	}
	var v any
	if json.Unmarshal(val, &v) != nil {
		return invalidValue(r, owner, p.Name)
	}
	ok := true
	switch p.Type {
	case "Edm.String", "Edm.Duration", "Edm.TimeOfDay":
		_, ok = v.(string)
	case "Edm.Boolean":
		_, ok = v.(bool)
	case "Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte":
		f, isNum := v.(float64)
		ok = isNum && f == float64(int64(f))
	case "Edm.Double", "Edm.Single", "Edm.Decimal":
		_, ok = v.(float64)
	case "Edm.DateTimeOffset":
		s, isStr := v.(string)
		_, err := time.Parse(time.RFC3339, s)
		ok = isStr && err == nil
	case "Edm.Date":
		s, isStr := v.(string)
		_, err := time.Parse(time.DateOnly, s)
		ok = isStr && err == nil
	case "Edm.Guid":
		s, isStr := v.(string)
		ok = isStr && guidPattern.MatchString(s)
	case "Edm.Binary":
		s, isStr := v.(string)
		_, err := base64.StdEncoding.DecodeString(s)
		ok = isStr && err == nil
	default:
		t := graphmeta.Lookup(p.Type)
		switch {
		case t == nil:
			return notImplemented(r, "writing the property "+p.Name+" (type "+p.Type+")")
		case t.Enum:
			s, isStr := v.(string)
			if !isStr || !slices.Contains(t.Members, s) {
				// The OData reader's answer to an unknown enum member
				// (observed for the sync settings' prevention type).
				return newGraphError(r, http.StatusBadRequest, "BadRequest", fmt.Sprintf("Requested value '%v' was not found.", v), nil)
			}
		case t.Complex:
			var fields map[string]json.RawMessage
			if json.Unmarshal(val, &fields) != nil {
				return invalidValue(r, owner, p.Name)
			}
			names := make([]string, 0, len(fields))
			for k := range fields {
				names = append(names, k)
			}
			slices.Sort(names)
			for _, k := range names {
				if strings.HasPrefix(k, "@") {
					continue
				}
				fp, found := t.Property(k)
				if !found {
					return noSuchWriteProperty(r, k, t.Name)
				}
				if e := checkValue(r, owner, fp, fields[k]); e != nil {
					return e
				}
			}
		default:
			return notImplemented(r, "writing the property "+p.Name+" (type "+p.Type+")")
		}
	}
	if !ok {
		return invalidValue(r, owner, p.Name)
	}
	return nil
}

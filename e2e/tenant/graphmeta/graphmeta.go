package graphmeta

import (
	_ "embed"
	"fmt"
	"strings"
)

//go:embed v1.0.tsv
var table string

// Source is the repository, path and commit the table was generated from.
var Source struct{ Repository, Path, Commit string }

// Descriptions is the repository, path and commit of the property
// descriptions the read-only flags were taken from, for the properties that
// Source does not describe; empty when the table was made from Source alone.
var Descriptions struct{ Repository, Path, Commit string }

// Property is a property of a Graph type.
type Property struct {
	Name       string // as Graph spells it (camelCase)
	Type       string // "Edm.String", "microsoft.graph.passwordProfile", ...; the element type of a collection
	Collection bool
	Nullable   bool // as the metadata says; for a collection, of its elements
	ReadOnly   bool // a create or update may not set it (see the gen command for the rule)
	Navigation bool
}

// Type is an entity, complex or enum type of the table. The table's types
// are shared: don't modify one.
type Type struct {
	Name     string // full name: "microsoft.graph.user"
	Base     string // full name of the base type, or ""
	Complex  bool   // a complex type; an entity type when neither Complex nor Enum
	Enum     bool   // an enum type: no properties, Members
	Abstract bool
	Open     bool     // an open type: it takes dynamic properties (user's extension_<appId>_<name>)
	Members  []string // an enum type's members, in metadata order

	props  []Property
	byName map[string]int // lower-case name -> index in props
	base   *Type
}

const namespace = "microsoft.graph."

var (
	byFull  = map[string]*Type{}
	ordered []*Type
)

func init() {
	if err := parse(table); err != nil {
		panic("graphmeta: v1.0.tsv: " + err.Error())
	}
}

func parse(text string) error {
	var cur *Type
	for n, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		bad := func() error { return fmt.Errorf("line %d: %q", n+1, line) }
		switch f[0] {
		case "source", "descriptions":
			if len(f) != 4 {
				return bad()
			}
			s := &Source
			if f[0] == "descriptions" {
				s = &Descriptions
			}
			s.Repository, s.Path, s.Commit = f[1], f[2], f[3]
		case "type":
			if len(f) != 6 {
				return bad()
			}
			t := &Type{Name: f[2], Base: undash(f[3]), Complex: f[1] == "complex", Enum: f[1] == "enum", byName: map[string]int{}}
			if f[1] != "entity" && !t.Complex && !t.Enum {
				return bad()
			}
			t.Abstract = strings.Contains(f[4], "a")
			t.Open = strings.Contains(f[4], "o")
			if m := undash(f[5]); m != "" {
				t.Members = strings.Split(m, ",")
			}
			if byFull[t.Name] != nil {
				return fmt.Errorf("line %d: type %s twice", n+1, t.Name)
			}
			byFull[t.Name] = t
			ordered = append(ordered, t)
			cur = t
		case "":
			if len(f) != 5 || cur == nil || cur.Enum {
				return bad()
			}
			p := Property{Name: f[1], Type: f[2]}
			p.Collection = strings.Contains(f[3], "c")
			p.Nullable = strings.Contains(f[3], "n")
			p.ReadOnly = strings.Contains(f[3], "r")
			p.Navigation = strings.Contains(f[3], "v")
			cur.byName[strings.ToLower(p.Name)] = len(cur.props)
			cur.props = append(cur.props, p)
		default:
			return bad()
		}
	}
	for _, t := range ordered {
		if t.Base == "" {
			continue
		}
		if t.base = byFull[t.Base]; t.base == nil {
			return fmt.Errorf("type %s: base %s is not in the table", t.Name, t.Base)
		}
	}
	if Source.Commit == "" {
		return fmt.Errorf("no source line")
	}
	return nil
}

func undash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// fullName turns "user", "microsoft.graph.user" or "#microsoft.graph.user"
// (an @odata.type value) into "microsoft.graph.user".
func fullName(name string) string {
	name = strings.TrimPrefix(name, "#")
	if strings.HasPrefix(name, namespace) {
		return name
	}
	return namespace + name
}

// Lookup finds a type by its short name ("user") or full name
// ("microsoft.graph.user", also "#microsoft.graph.user" as in @odata.type);
// nil if not in the table. Type names are case-sensitive.
func Lookup(name string) *Type {
	return byFull[fullName(name)]
}

// Types lists the table's types, sorted by full name.
func Types() []*Type {
	return append([]*Type(nil), ordered...)
}

// ShortName is the name without the microsoft.graph namespace: "user".
func (t *Type) ShortName() string {
	return strings.TrimPrefix(t.Name, namespace)
}

// Property finds a property of t or of its bases, case-insensitively (Graph
// property names are case-insensitive in $select/$filter); ok false when
// there is none.
func (t *Type) Property(name string) (Property, bool) {
	key := strings.ToLower(name)
	for x := t; x != nil; x = x.base {
		if i, ok := x.byName[key]; ok {
			return x.props[i], true
		}
	}
	return Property{}, false
}

// Properties lists all properties of t and its bases, base first, in table
// order (by name within each type).
func (t *Type) Properties() []Property {
	var chain []*Type
	for x := t; x != nil; x = x.base {
		chain = append(chain, x)
	}
	var out []Property
	for i := len(chain) - 1; i >= 0; i-- {
		out = append(out, chain[i].props...)
	}
	return out
}

// Is reports whether t is name or derives from it (short or full name).
func (t *Type) Is(name string) bool {
	full := fullName(name)
	for x := t; x != nil; x = x.base {
		if x.Name == full {
			return true
		}
	}
	return false
}

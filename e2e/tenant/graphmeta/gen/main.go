// Command gen writes graphmeta's table (v1.0.tsv) from Microsoft Graph's own
// v1.0 metadata.
//
//	go run ./e2e/tenant/graphmeta/gen \
//	    -metadata cleanMetadata.xml -path clean_v10_metadata/cleanMetadata.xml -commit <sha> \
//	    -descriptions microsoft-graph.d.ts -descriptions-commit <sha> \
//	    -out e2e/tenant/graphmeta/v1.0.tsv
//
// -metadata is a v1.0 CSDL file of https://github.com/microsoftgraph/msgraph-metadata
// (clean_v10_metadata/cleanMetadata.xml, or cleanMetadataWithDescriptionsv1.0.xml).
// It decides which types and properties there are: names, base types,
// abstract and open types, property types, collection, nullable, navigation
// or structural, keys, and the Core vocabulary annotations.
//
// -descriptions is optional. It gives the documentation's description of a
// property that has none in -metadata (cleanMetadata.xml has almost none for
// the directory types). It is either a CSDL that carries them as
// Org.OData.Core.V1.Description / LongDescription annotations
// (cleanMetadataWithDescriptionsv1.0.xml), or microsoft-graph.d.ts of
// https://github.com/microsoftgraph/msgraph-typescript-typings, which
// Microsoft generates from that file and whose property comments are those
// descriptions. With the descriptions CSDL of the same commit at hand, pass
// it as -metadata alone. (Its current version is over 4 MiB; where that
// cannot be had, the typings are the newest description source.)
//
// The table holds the types named by -types (by default the ones the tenant
// emulator serves, see defaultTypes) and their closure: every base type, and
// every complex and enum type reachable from a structural property of a type
// in the table. Navigation properties are written with their target type's
// name, but the target type is not added for them. Types are sorted by full
// name, a type's properties by name; gen reports on standard error the
// structural properties that no source describes.
//
// # Read-only
//
// A property is written as read-only when the first of these holds, and its
// reason is written beside it:
//
//   - key: it is a key property of its entity type (PropertyRef in Key:
//     entity.id). The key is assigned by the service.
//   - computed: it carries Org.OData.Core.V1.Computed (Bool absent or true),
//     inline or in an Annotations element targeting Type/property.
//   - permissions: it carries Org.OData.Core.V1.Permissions whose value is
//     Org.OData.Core.V1.Permission/Read (without Write).
//   - description: one of its descriptions has a sentence that declares it
//     read-only without a condition. A sentence (the text split at '.', ';'
//     or ':' followed by a space or the end) counts when it contains
//     "read-only", "read only" or "readonly" (any case) and neither (a) its
//     first word is one of after, for (except "for example"), if, once,
//     unless, when, whenever, while, nor (b) the word right after the phrase
//     is one of access, after, except, for, if, mode, once, unless, version,
//     when, whenever, while. So "Read-only.", "This property is read-only.",
//     "Read-only, Nullable.", "Read-only property with ..." and "Read-only in
//     Microsoft Graph; ..." count, while "Read-only for users synced from
//     the on-premises directory.", "Read-only when isBuiltIn is true.", "For
//     an onPremisesSyncEnabled user, ... is read-only." and "Once set, this
//     property is read-only ..." do not.
//
// Org.OData.Core.V1.Immutable (settable when the object is created, not
// changed afterwards) does not make a property read-only. Nor does anything
// else: a property that no source describes is writable unless it is a key
// or annotated. The documentation's "Read-only" means that an update cannot
// set the property; a few such properties are still given on create
// (unifiedRoleAssignment.roleDefinitionId).
package main

import (
	"bufio"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Repositories the sources are published in.
const (
	metadataRepo = "https://github.com/microsoftgraph/msgraph-metadata"
	typingsRepo  = "https://github.com/microsoftgraph/msgraph-typescript-typings"
)

// defaultTypes are the roots of the table: the entity types the tenant
// emulator serves or names. domainDnsRecord's derived types are the records
// domains/{id}/verificationDnsRecords and serviceConfigurationRecords hold;
// internalDomainFederation brings samlOrWsFedProvider and
// identityProviderBase as its bases. drive is left out: the emulator serves
// no drive resource (e2e/tenant/drive.go drives the sign-in pages).
var defaultTypes = []string{
	"organization", "domain", "domainDnsRecord", "domainDnsCnameRecord", "domainDnsMxRecord",
	"domainDnsSrvRecord", "domainDnsTxtRecord", "domainDnsUnavailableRecord",
	"user", "group", "orgContact", "device", "directoryObject", "directoryRole",
	"unifiedRoleAssignment", "unifiedRoleDefinition", "application", "extensionProperty",
	"servicePrincipal", "onPremisesDirectorySynchronization", "internalDomainFederation",
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("graphmeta/gen: ")
	metadata := flag.String("metadata", "", "path of the v1.0 CSDL file (required)")
	metaPath := flag.String("path", "", "the -metadata file's path in "+metadataRepo+" (default: taken from -metadata)")
	commit := flag.String("commit", "", "commit the -metadata file is from (40 hex digits, required)")
	descriptions := flag.String("descriptions", "", "optional file of property descriptions for the properties that have none in -metadata: a CSDL (cleanMetadataWithDescriptionsv1.0.xml) or microsoft-graph.d.ts")
	descRepo := flag.String("descriptions-repo", "", "repository of the -descriptions file (default: "+metadataRepo+" for a CSDL, "+typingsRepo+" for a .d.ts)")
	descPath := flag.String("descriptions-path", "", "the -descriptions file's path in its repository (default: taken from -descriptions)")
	descCommit := flag.String("descriptions-commit", "", "commit the -descriptions file is from (40 hex digits, required with -descriptions)")
	types := flag.String("types", strings.Join(defaultTypes, ","), "comma-separated root types (short or full names)")
	out := flag.String("out", "", "output file (default standard output)")
	flag.Parse()
	if *metadata == "" || !isCommit(*commit) {
		log.Fatal("need -metadata and -commit (40 hex digits)")
	}
	if *descriptions != "" && !isCommit(*descCommit) {
		log.Fatal("-descriptions needs -descriptions-commit (40 hex digits)")
	}
	m, err := load(*metadata)
	if err != nil {
		log.Fatal(err)
	}
	hdr := header{sources: [][3]string{{metadataRepo, orDefault(*metaPath, repoPath(*metadata)), strings.ToLower(*commit)}}}
	var d describer
	if *descriptions != "" {
		repo := metadataRepo
		if strings.HasSuffix(*descriptions, ".d.ts") {
			d, err = loadTypings(*descriptions)
			repo = typingsRepo
		} else {
			d, err = load(*descriptions)
		}
		if err != nil {
			log.Fatal(err)
		}
		hdr.sources = append(hdr.sources, [3]string{orDefault(*descRepo, repo), orDefault(*descPath, repoPath(*descriptions)), strings.ToLower(*descCommit)})
	}
	tbl, undescribed, err := build(m, d, strings.Split(*types, ","))
	if err != nil {
		log.Fatal(err)
	}
	if len(undescribed) > 0 {
		log.Printf("%d structural properties have no description in the sources (read-only then only by key or annotation): %s",
			len(undescribed), strings.Join(undescribed, " "))
	}
	var w io.Writer = os.Stdout
	var f *os.File
	if *out != "" {
		if f, err = os.Create(*out); err != nil {
			log.Fatal(err)
		}
		w = f
	}
	bw := bufio.NewWriter(w)
	write(bw, hdr, tbl)
	if err := bw.Flush(); err != nil {
		log.Fatal(err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}

var commitRE = regexp.MustCompile(`^[0-9a-fA-F]{40}$`)

func isCommit(s string) bool { return commitRE.MatchString(s) }

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// repoPath guesses a file's path in the repository from where it lies here:
// from its clean_v10_metadata/, schemas/ or openapi/ folder on, else its name.
func repoPath(p string) string {
	p = filepath.ToSlash(p)
	for _, dir := range []string{"clean_v10_metadata/", "schemas/", "openapi/"} {
		if i := strings.LastIndex(p, dir); i >= 0 {
			return p[i:]
		}
	}
	return filepath.Base(p)
}

// CSDL, as much of it as the table needs.

type edmx struct {
	Schemas []schema `xml:"DataServices>Schema"`
}

type schema struct {
	Namespace   string        `xml:"Namespace,attr"`
	Alias       string        `xml:"Alias,attr"`
	Entities    []structured  `xml:"EntityType"`
	Complexes   []structured  `xml:"ComplexType"`
	Enums       []enumType    `xml:"EnumType"`
	Annotations []annotations `xml:"Annotations"`
}

type structured struct {
	Name       string       `xml:"Name,attr"`
	BaseType   string       `xml:"BaseType,attr"`
	Abstract   string       `xml:"Abstract,attr"`
	OpenType   string       `xml:"OpenType,attr"`
	Key        []propertyRf `xml:"Key>PropertyRef"`
	Properties []property   `xml:"Property"`
	Navigation []property   `xml:"NavigationProperty"`
}

type propertyRf struct {
	Name string `xml:"Name,attr"`
}

type property struct {
	Name        string       `xml:"Name,attr"`
	Type        string       `xml:"Type,attr"`
	Nullable    string       `xml:"Nullable,attr"`
	Annotations []annotation `xml:"Annotation"`
}

type enumType struct {
	Name    string `xml:"Name,attr"`
	Members []struct {
		Name string `xml:"Name,attr"`
	} `xml:"Member"`
}

type annotations struct {
	Target      string       `xml:"Target,attr"`
	Annotations []annotation `xml:"Annotation"`
}

type annotation struct {
	Term        string   `xml:"Term,attr"`
	StringAttr  *string  `xml:"String,attr"`
	Bool        string   `xml:"Bool,attr"`
	EnumAttr    string   `xml:"EnumMember,attr"`
	StringElem  []string `xml:"String"`
	EnumMembers []string `xml:"EnumMember"`
}

// model is a loaded CSDL file: its types by full name, and the annotations
// of each property by "full type name/property".
type model struct {
	types   map[string]*typ
	aliases map[string]string // alias -> namespace
	annots  map[string][]annotation
}

type typ struct {
	name     string // full name
	kind     string // entity, complex or enum
	base     string // full name, or ""
	abstract bool
	open     bool
	key      map[string]bool
	props    []prop
	members  []string // enum members
}

type prop struct {
	name     string
	rawType  string
	nullable bool
	nav      bool
	annots   []annotation
}

func load(path string) (*model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var doc edmx
	if err := xml.NewDecoder(bufio.NewReader(f)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Schemas) == 0 {
		return nil, fmt.Errorf("%s: no Schema in edmx:DataServices", path)
	}
	m := &model{types: map[string]*typ{}, aliases: map[string]string{}, annots: map[string][]annotation{}}
	for _, s := range doc.Schemas {
		if s.Alias != "" {
			m.aliases[s.Alias] = s.Namespace
		}
	}
	for _, s := range doc.Schemas {
		add := func(kind string, st structured) {
			t := &typ{name: s.Namespace + "." + st.Name, kind: kind, abstract: st.Abstract == "true", open: st.OpenType == "true", key: map[string]bool{}}
			if st.BaseType != "" {
				t.base = m.qualify(st.BaseType, s)
			}
			for _, k := range st.Key {
				t.key[k.Name] = true
			}
			for _, p := range st.Properties {
				t.props = append(t.props, prop{name: p.Name, rawType: m.qualifyType(p.Type, s), nullable: p.Nullable != "false", annots: p.Annotations})
			}
			for _, p := range st.Navigation {
				t.props = append(t.props, prop{name: p.Name, rawType: m.qualifyType(p.Type, s), nullable: p.Nullable != "false", nav: true, annots: p.Annotations})
			}
			m.types[t.name] = t
		}
		for _, st := range s.Entities {
			add("entity", st)
		}
		for _, st := range s.Complexes {
			add("complex", st)
		}
		for _, e := range s.Enums {
			t := &typ{name: s.Namespace + "." + e.Name, kind: "enum"}
			for _, mb := range e.Members {
				t.members = append(t.members, mb.Name)
			}
			m.types[t.name] = t
		}
		for _, a := range s.Annotations {
			target := a.Target
			if i := strings.LastIndex(target, "/"); i >= 0 {
				target = m.qualify(target[:i], s) + target[i:]
			} else {
				target = m.qualify(target, s)
			}
			m.annots[target] = append(m.annots[target], a.Annotations...)
		}
	}
	return m, nil
}

// qualify turns an alias-qualified name (graph.user, self.alert) into its
// namespace-qualified one (microsoft.graph.user).
func (m *model) qualify(name string, s schema) string {
	i := strings.LastIndex(name, ".")
	if i < 0 {
		return s.Namespace + "." + name
	}
	if ns, ok := m.aliases[name[:i]]; ok {
		return ns + name[i:]
	}
	return name
}

// qualifyType does qualify inside Collection(...), and leaves Edm types be.
func (m *model) qualifyType(t string, s schema) string {
	if inner, ok := strings.CutPrefix(t, "Collection("); ok {
		return "Collection(" + m.qualifyType(strings.TrimSuffix(inner, ")"), s) + ")"
	}
	if strings.HasPrefix(t, "Edm.") {
		return t
	}
	return m.qualify(t, s)
}

// annotationsOf are a property's annotations, inline and targeted.
func (m *model) annotationsOf(t *typ, p prop) []annotation {
	return append(append([]annotation(nil), p.annots...), m.annots[t.name+"/"+p.name]...)
}

// term is an annotation's term without its vocabulary namespace.
func term(a annotation) string {
	t := a.Term
	for _, pre := range []string{"Org.OData.Core.V1.", "Core."} {
		if s, ok := strings.CutPrefix(t, pre); ok {
			return s
		}
	}
	return ""
}

func descriptionsOf(annots []annotation) []string {
	var ds []string
	for _, a := range annots {
		if t := term(a); t == "Description" || t == "LongDescription" {
			if a.StringAttr != nil {
				ds = append(ds, *a.StringAttr)
			}
			ds = append(ds, a.StringElem...)
		}
	}
	return ds
}

// describer gives the descriptions of a property, by full type name and
// property name: a CSDL (*model) or microsoft-graph.d.ts (typings).
type describer interface {
	describe(typeName, propName string) []string
}

func (m *model) describe(typeName, propName string) []string {
	t := m.types[typeName]
	if t == nil {
		return nil
	}
	for _, p := range t.props {
		if p.name == propName {
			return descriptionsOf(m.annotationsOf(t, p))
		}
	}
	return nil
}

// typings are the property comments of microsoft-graph.d.ts, the
// TypeScript declarations Microsoft generates from the v1.0 metadata with
// descriptions: "export interface User extends DirectoryObject {" holds
// "aboutMe?: ...;" under its comment, a "// ..." line or a "/** ... */"
// block. Only the top-level interfaces (namespace microsoft.graph) are read;
// an interface is the type's name with its first letter in upper case.
type typings map[string]string // "User/aboutMe" -> comment

var (
	tsInterface = regexp.MustCompile(`^export interface (\w+)`)
	tsProperty  = regexp.MustCompile(`^\s+"?([A-Za-z0-9_@.]+)"?\??:`)
)

func loadTypings(path string) (typings, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := typings{}
	var iface string
	var comment []string
	inBlock := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		trim := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "export "):
			iface, comment = "", nil
			if m := tsInterface.FindStringSubmatch(line); m != nil {
				iface = m[1]
			}
		case strings.HasPrefix(line, "}"):
			iface, comment = "", nil
		case iface == "":
		case inBlock:
			end := strings.HasSuffix(trim, "*/")
			trim = strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(trim, "*/"), "*"))
			comment = append(comment, trim)
			inBlock = !end
		case strings.HasPrefix(trim, "/**"):
			comment = nil
			rest := strings.TrimPrefix(trim, "/**")
			inBlock = !strings.HasSuffix(rest, "*/")
			comment = append(comment, strings.TrimSpace(strings.TrimSuffix(rest, "*/")))
		case strings.HasPrefix(trim, "//"):
			comment = []string{strings.TrimSpace(strings.TrimPrefix(trim, "//"))}
		default:
			if m := tsProperty.FindStringSubmatch(line); m != nil {
				if c := strings.TrimSpace(strings.Join(comment, " ")); c != "" {
					t[iface+"/"+m[1]] = c
				}
			}
			comment = nil
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("%s: no interface property comments", path)
	}
	return t, nil
}

func (t typings) describe(typeName, propName string) []string {
	short, ok := strings.CutPrefix(typeName, "microsoft.graph.")
	if !ok || strings.Contains(short, ".") || short == "" {
		return nil
	}
	if c, ok := t[strings.ToUpper(short[:1])+short[1:]+"/"+propName]; ok {
		return []string{c}
	}
	return nil
}

// readOnlyReason applies the rule in the package comment.
func readOnlyReason(t *typ, p prop, annots []annotation, descs []string) string {
	if t.key[p.name] {
		return "key"
	}
	for _, a := range annots {
		if term(a) == "Computed" && a.Bool != "false" {
			return "computed"
		}
	}
	for _, a := range annots {
		if term(a) != "Permissions" {
			continue
		}
		vals := strings.Fields(a.EnumAttr)
		for _, e := range a.EnumMembers {
			vals = append(vals, strings.Fields(e)...)
		}
		read, write := false, false
		for _, v := range vals {
			switch v[strings.LastIndex(v, "/")+1:] {
			case "Read":
				read = true
			case "Write", "ReadWrite":
				write = true
			}
		}
		if read && !write {
			return "permissions"
		}
	}
	for _, d := range descs {
		if declaresReadOnly(d) {
			return "description"
		}
	}
	return ""
}

var (
	sentenceEnd = regexp.MustCompile(`[.;:](\s+|$)`)
	readOnlyRE  = regexp.MustCompile(`(?i)\bread[- ]?only\b`)
	wordRE      = regexp.MustCompile(`[A-Za-z]+`)
	// conditional first words of a sentence, and words after "read-only"
	// that restrict it to a case.
	condLead  = set("after", "for", "if", "once", "unless", "when", "whenever", "while")
	condAfter = set("access", "after", "except", "for", "if", "mode", "once", "unless", "version", "when", "whenever", "while")
)

func set(ws ...string) map[string]bool {
	m := map[string]bool{}
	for _, w := range ws {
		m[w] = true
	}
	return m
}

// declaresReadOnly reports whether a description has a sentence that says,
// without a condition, that the property is read-only.
func declaresReadOnly(desc string) bool {
	desc = strings.Join(strings.Fields(desc), " ")
	for _, s := range splitSentences(desc) {
		locs := readOnlyRE.FindAllStringIndex(s, -1)
		if locs == nil {
			continue
		}
		lower := strings.ToLower(s)
		if w := wordRE.FindString(lower); condLead[w] && !strings.HasPrefix(lower, "for example") {
			continue
		}
		for _, l := range locs {
			next := wordRE.FindStringIndex(lower[l[1]:])
			if next != nil && strings.TrimSpace(lower[l[1]:l[1]+next[0]]) == "" && condAfter[lower[l[1]+next[0]:l[1]+next[1]]] {
				continue
			}
			return true
		}
	}
	return false
}

func splitSentences(s string) []string {
	var out []string
	for {
		loc := sentenceEnd.FindStringIndex(s)
		if loc == nil {
			if strings.TrimSpace(s) != "" {
				out = append(out, strings.TrimSpace(s))
			}
			return out
		}
		out = append(out, strings.TrimSpace(s[:loc[0]]))
		s = s[loc[1]:]
	}
}

// The table.

type row struct {
	t     *typ
	props []outProp
}

type outProp struct {
	name, typ               string
	coll, nullable, ro, nav bool
	reason                  string
}

func elemType(t string) (string, bool) {
	if inner, ok := strings.CutPrefix(t, "Collection("); ok {
		return strings.TrimSuffix(inner, ")"), true
	}
	return t, false
}

// build computes the closure of roots in m and the table's rows. The
// descriptions of a property are m's own, or else d's. undescribed names
// the structural properties that have none in either.
func build(m *model, d describer, roots []string) (rows []row, undescribed []string, err error) {
	in := map[string]*typ{}
	var work []*typ
	addType := func(t *typ) {
		if in[t.name] == nil {
			in[t.name] = t
			work = append(work, t)
		}
	}
	for _, r := range roots {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		t := m.types[r]
		if t == nil {
			t = m.types["microsoft.graph."+r]
		}
		if t == nil {
			return nil, nil, fmt.Errorf("root type %q is not in the metadata", r)
		}
		addType(t)
	}
	for len(work) > 0 {
		t := work[0]
		work = work[1:]
		if t.base != "" {
			b := m.types[t.base]
			if b == nil {
				return nil, nil, fmt.Errorf("%s: base type %s is not in the metadata", t.name, t.base)
			}
			addType(b)
		}
		for _, p := range t.props {
			if p.nav {
				continue
			}
			et, _ := elemType(p.rawType)
			if strings.HasPrefix(et, "Edm.") {
				continue
			}
			pt := m.types[et]
			if pt == nil {
				return nil, nil, fmt.Errorf("%s/%s: type %s is not in the metadata", t.name, p.name, et)
			}
			addType(pt)
		}
	}
	for _, t := range in {
		r := row{t: t}
		for _, p := range t.props {
			annots := m.annotationsOf(t, p)
			descs := descriptionsOf(annots)
			if len(descs) == 0 && d != nil {
				descs = d.describe(t.name, p.name)
			}
			if len(descs) == 0 && !p.nav {
				undescribed = append(undescribed, strings.TrimPrefix(t.name, "microsoft.graph.")+"/"+p.name)
			}
			et, coll := elemType(p.rawType)
			reason := readOnlyReason(t, p, annots, descs)
			r.props = append(r.props, outProp{name: p.name, typ: et, coll: coll, nullable: p.nullable, nav: p.nav, ro: reason != "", reason: reason})
		}
		sort.SliceStable(r.props, func(i, j int) bool {
			a, b := strings.ToLower(r.props[i].name), strings.ToLower(r.props[j].name)
			if a != b {
				return a < b
			}
			return r.props[i].name < r.props[j].name
		})
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].t.name < rows[j].t.name })
	sort.Strings(undescribed)
	return rows, undescribed, nil
}

// header names the sources: the metadata, then the descriptions if any,
// each as repository, path and commit.
type header struct {
	sources [][3]string
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func write(w io.Writer, h header, rows []row) {
	fmt.Fprintln(w, "# graphmeta: Microsoft Graph v1.0 types the tenant emulator serves, and their closure.")
	fmt.Fprintln(w, "# Generated by e2e/tenant/graphmeta/gen from the sources below; do not edit. See graphmeta/doc.go.")
	fmt.Fprintln(w, "# Lines: source|descriptions <repository> <path> <commit>;")
	fmt.Fprintln(w, "# type <entity|complex|enum> <full name> <base or -> <flags: a abstract, o open type; or -> <enum members or ->;")
	fmt.Fprintln(w, "# then, for an entity or complex type, one line a property: <empty> <name> <type> <flags: c collection, n nullable, r read-only, v navigation; or -> <read-only reason or ->.")
	for i, s := range h.sources {
		kind := "source"
		if i > 0 {
			kind = "descriptions"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", kind, s[0], s[1], s[2])
	}
	for _, r := range rows {
		flags := ""
		if r.t.abstract {
			flags += "a"
		}
		if r.t.open {
			flags += "o"
		}
		fmt.Fprintf(w, "type\t%s\t%s\t%s\t%s\t%s\n", r.t.kind, r.t.name, dash(r.t.base), dash(flags), dash(strings.Join(r.t.members, ",")))
		for _, p := range r.props {
			f := ""
			if p.coll {
				f += "c"
			}
			if p.nullable {
				f += "n"
			}
			if p.ro {
				f += "r"
			}
			if p.nav {
				f += "v"
			}
			fmt.Fprintf(w, "\t%s\t%s\t%s\t%s\n", p.name, p.typ, dash(f), dash(p.reason))
		}
	}
}

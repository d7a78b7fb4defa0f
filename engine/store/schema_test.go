package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/migrations"
)

// column is what the schema test compares of a column in both dialects.
type column struct {
	Name    string
	NotNull bool // NOT NULL written out
	PK      int  // position in the primary key, 1-based; 0 when not part of it
	Unique  bool // UNIQUE on the column itself
}

type index struct {
	Table   string
	Columns []string
}

// schema is a dialect's tables (in order of columns) and indexes, as parsed from
// CREATE statements, and the changes its triggers refuse per table ("delete",
// "update"): the append-only tables.
type schema struct {
	Tables  map[string][]column
	Indexes map[string]index
	Refused map[string][]string
}

var (
	createTableRe = regexp.MustCompile(`(?is)CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*\(`)
	createIndexRe = regexp.MustCompile(`(?is)^CREATE\s+(?:UNIQUE\s+)?INDEX\s+([A-Za-z_][A-Za-z0-9_]*)\s+ON\s+([A-Za-z_][A-Za-z0-9_]*)\s*\(([^)]*)\)\s*$`)
	// alterAddRe is ALTER TABLE … ADD one column (SQLite adds one per
	// statement; SQL Server takes no COLUMN keyword).
	alterAddRe  = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_.]*)\s+ADD\s+(.+)$`)
	dropTableRe = regexp.MustCompile(`(?is)^DROP\s+TABLE\s+([A-Za-z_][A-Za-z0-9_.]*)$`)
	// dataRe are statements that move rows and change no schema.
	dataRe = regexp.MustCompile(`(?is)^(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s`)
	// refuseTriggerRe is a trigger that refuses changes to a table: SQLite's
	// BEFORE UPDATE|DELETE ON t … RAISE(ABORT, …), SQL Server's ON t INSTEAD
	// OF UPDATE, DELETE AS … THROW.
	refuseLiteRe   = regexp.MustCompile(`(?is)^CREATE\s+TRIGGER\s+\w+\s+BEFORE\s+(UPDATE|DELETE)\s+ON\s+(\w+)\s+BEGIN\s+SELECT\s+RAISE\s*\(\s*ABORT\b.*END$`)
	refuseServerRe = regexp.MustCompile(`(?is)^CREATE\s+TRIGGER\s+\w+\s+ON\s+(\w+)\s+INSTEAD\s+OF\s+([A-Z ,]+?)\s+AS\s+BEGIN\s+THROW\b.*END$`)
)

// refuse records that table's triggers refuse the events.
func (sc schema) refuse(table string, events ...string) {
	for _, e := range events {
		e = strings.ToLower(strings.TrimSpace(e))
		if !contains(sc.Refused[table], e) {
			sc.Refused[table] = append(sc.Refused[table], e)
			sort.Strings(sc.Refused[table])
		}
	}
}

// parseSchema reads every CREATE TABLE and CREATE INDEX of the statements,
// the columns ALTER TABLE adds and the tables DROP TABLE drops (with their
// indexes), in order; statements that only move rows are passed over. It
// knows just enough SQL for our migrations, and fails on anything it does not
// understand rather than skip it.
func parseSchema(stmts []string) (schema, error) {
	sc := schema{Tables: map[string][]column{}, Indexes: map[string]index{}, Refused: map[string][]string{}}
	for _, stmt := range stmts {
		stmt = strings.TrimSpace(stmt)
		if m := refuseLiteRe.FindStringSubmatch(stmt); m != nil {
			sc.refuse(strings.ToLower(m[2]), m[1])
			continue
		}
		if m := refuseServerRe.FindStringSubmatch(stmt); m != nil {
			sc.refuse(strings.ToLower(m[1]), strings.Split(m[2], ",")...)
			continue
		}
		if m := createIndexRe.FindStringSubmatch(stmt); m != nil {
			sc.Indexes[strings.ToLower(m[1])] = index{Table: strings.ToLower(m[2]), Columns: splitNames(m[3])}
			continue
		}
		if dataRe.MatchString(stmt) {
			continue
		}
		if m := alterAddRe.FindStringSubmatch(stmt); m != nil {
			name := strings.ToLower(strings.TrimPrefix(m[1], "dbo."))
			def := strings.TrimSpace(m[2])
			cols, ok := sc.Tables[name]
			if !ok {
				return schema{}, fmt.Errorf("ALTER TABLE of unknown table %s", name)
			}
			add, err := parseColumns(def)
			if err != nil || len(add) != 1 {
				return schema{}, fmt.Errorf("ALTER TABLE %s: cannot read %q (%v)", name, def, err)
			}
			for _, c := range cols {
				if c.Name == add[0].Name {
					return schema{}, fmt.Errorf("ALTER TABLE %s adds %s twice", name, c.Name)
				}
			}
			sc.Tables[name] = append(cols, add[0])
			continue
		}
		if m := dropTableRe.FindStringSubmatch(stmt); m != nil {
			name := strings.ToLower(strings.TrimPrefix(m[1], "dbo."))
			if _, ok := sc.Tables[name]; !ok {
				return schema{}, fmt.Errorf("DROP TABLE of unknown table %s", name)
			}
			delete(sc.Tables, name)
			for iname, ix := range sc.Indexes {
				if ix.Table == name {
					delete(sc.Indexes, iname)
				}
			}
			continue
		}
		loc := createTableRe.FindStringSubmatchIndex(stmt)
		if loc == nil {
			return schema{}, fmt.Errorf("unknown statement: %.60s", stmt)
		}
		name := strings.ToLower(strings.TrimPrefix(stmt[loc[2]:loc[3]], "dbo."))
		body, err := parenBody(stmt[loc[1]-1:])
		if err != nil {
			return schema{}, fmt.Errorf("table %s: %w", name, err)
		}
		cols, err := parseColumns(body)
		if err != nil {
			return schema{}, fmt.Errorf("table %s: %w", name, err)
		}
		if _, dup := sc.Tables[name]; dup {
			return schema{}, fmt.Errorf("table %s is created twice", name)
		}
		sc.Tables[name] = cols
	}
	return sc, nil
}

// parenBody returns what is inside the parenthesis s starts with.
func parenBody(s string) (string, error) {
	depth := 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				if rest := strings.TrimSpace(s[i+1:]); rest != "" {
					return "", fmt.Errorf("unexpected %q after the column list", rest)
				}
				return s[1:i], nil
			}
		}
	}
	return "", fmt.Errorf("unbalanced parentheses")
}

// splitTop splits at commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
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

func splitNames(s string) []string {
	var out []string
	for _, n := range strings.Split(s, ",") {
		out = append(out, strings.ToLower(strings.TrimSpace(n)))
	}
	return out
}

var tableKeyRe = regexp.MustCompile(`(?is)^PRIMARY\s+KEY\s*\(([^)]*)\)$`)

func parseColumns(body string) ([]column, error) {
	var cols []column
	var tableKey []string
	for _, item := range splitTop(body) {
		item = strings.Join(strings.Fields(item), " ")
		upper := strings.ToUpper(item)
		switch {
		case item == "":
			return nil, fmt.Errorf("empty column definition")
		case strings.HasPrefix(upper, "PRIMARY KEY"):
			m := tableKeyRe.FindStringSubmatch(item)
			if m == nil {
				return nil, fmt.Errorf("cannot read %q", item)
			}
			tableKey = splitNames(m[1])
		case strings.HasPrefix(upper, "CONSTRAINT"), strings.HasPrefix(upper, "FOREIGN"),
			strings.HasPrefix(upper, "UNIQUE"), strings.HasPrefix(upper, "CHECK"):
			return nil, fmt.Errorf("table constraint %q: teach the schema test to compare it", item)
		default:
			name, _, _ := strings.Cut(item, " ")
			c := column{Name: strings.ToLower(name), NotNull: strings.Contains(upper, " NOT NULL"),
				Unique: strings.Contains(upper, " UNIQUE")}
			if strings.Contains(upper, " PRIMARY KEY") {
				c.PK = 1
			}
			cols = append(cols, c)
		}
	}
	for pos, k := range tableKey {
		found := false
		for i := range cols {
			if cols[i].Name == k {
				cols[i].PK, found = pos+1, true
			}
		}
		if !found {
			return nil, fmt.Errorf("primary key names unknown column %s", k)
		}
	}
	return cols, nil
}

// dialectSchema parses a dialect's migrations and its schema_migrations table.
func dialectSchema(t *testing.T, d Dialect) schema {
	t.Helper()
	dir := string(d)
	entries, err := fs.ReadDir(migrations.FS, dir)
	if err != nil {
		t.Fatal(err)
	}
	var stmts []string
	for _, e := range entries {
		body, err := fs.ReadFile(migrations.FS, path.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		stmts = append(stmts, splitStatements(string(body))...)
	}
	stmts = append(stmts, versionTableSQL(d))
	sc, err := parseSchema(stmts)
	if err != nil {
		t.Fatalf("%s: %v", d, err)
	}
	return sc
}

func TestSchemaDialectsMatch(t *testing.T) {
	lite, server := dialectSchema(t, SQLite), dialectSchema(t, SQLServer)
	if len(lite.Tables) < 10 {
		t.Fatalf("parsed only %d SQLite tables; the parser is missing some", len(lite.Tables))
	}
	for _, name := range sortedKeys(lite.Tables, server.Tables) {
		a, b := lite.Tables[name], server.Tables[name]
		if !reflect.DeepEqual(a, b) {
			t.Errorf("table %s differs:\n sqlite:    %+v\n sqlserver: %+v", name, a, b)
		}
	}
	for _, name := range sortedKeys(lite.Indexes, server.Indexes) {
		if a, b := lite.Indexes[name], server.Indexes[name]; !reflect.DeepEqual(a, b) {
			t.Errorf("index %s differs: sqlite %+v, sqlserver %+v", name, a, b)
		}
	}
	if !reflect.DeepEqual(lite.Refused, server.Refused) {
		t.Errorf("append-only tables differ: sqlite %v, sqlserver %v", lite.Refused, server.Refused)
	}
	if want := []string{"delete", "update"}; !reflect.DeepEqual(lite.Refused["audit_events"], want) {
		t.Errorf("audit_events refuses %v, want %v", lite.Refused["audit_events"], want)
	}
	if _, ok := lite.Tables["schema_migrations"]; !ok {
		t.Error("schema_migrations (createVersionTable) was not parsed")
	}
}

func sortedKeys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	for k := range a {
		seen[k] = true
	}
	for k := range b {
		seen[k] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestSchemaParserMatchesSQLite proves the parser on a real database: what it
// reads from the SQLite migrations is what SQLite reports once they are applied.
func TestSchemaParserMatchesSQLite(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	want := dialectSchema(t, SQLite)

	got := schema{Tables: map[string][]column{}, Indexes: map[string]index{}, Refused: map[string][]string{}}
	names := queryStrings(t, s, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'`)
	for _, name := range names {
		rows, err := s.r.QueryContext(ctx, `SELECT name, "notnull", pk FROM pragma_table_info(?) ORDER BY cid`, name)
		if err != nil {
			t.Fatal(err)
		}
		var cols []column
		for rows.Next() {
			var c column
			if err := rows.Scan(&c.Name, &c.NotNull, &c.PK); err != nil {
				t.Fatal(err)
			}
			cols = append(cols, c)
		}
		rows.Close()
		got.Tables[name] = cols
	}
	for _, name := range queryStrings(t, s, `SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`) {
		var tbl string
		if err := s.r.QueryRowContext(ctx, `SELECT tbl_name FROM sqlite_master WHERE name = ?`, name).Scan(&tbl); err != nil {
			t.Fatal(err)
		}
		got.Indexes[name] = index{Table: tbl, Columns: queryStrings(t, s, `SELECT name FROM pragma_index_info(?) ORDER BY seqno`, name)}
	}

	// PRAGMA table_info knows nothing of UNIQUE; compare that through the
	// automatic indexes SQLite makes for it.
	for name, cols := range want.Tables {
		for i, c := range cols {
			if c.Unique {
				uniq := queryStrings(t, s, `SELECT ii.name FROM pragma_index_list(?) il, pragma_index_info(il.name) ii WHERE il.origin = 'u'`, name)
				if !contains(uniq, c.Name) {
					t.Errorf("%s.%s is UNIQUE in the migration but SQLite has no unique index on it", name, c.Name)
				}
			}
			cols[i].Unique = false
		}
	}
	if !reflect.DeepEqual(want.Tables, got.Tables) {
		for _, name := range sortedKeys(want.Tables, got.Tables) {
			if !reflect.DeepEqual(want.Tables[name], got.Tables[name]) {
				t.Errorf("table %s:\n parsed: %+v\n sqlite: %+v", name, want.Tables[name], got.Tables[name])
			}
		}
	}
	if !reflect.DeepEqual(want.Indexes, got.Indexes) {
		t.Errorf("indexes:\n parsed: %+v\n sqlite: %+v", want.Indexes, got.Indexes)
	}
	for _, sql := range queryStrings(t, s, `SELECT sql FROM sqlite_master WHERE type = 'trigger'`) {
		m := refuseLiteRe.FindStringSubmatch(sql)
		if m == nil {
			t.Errorf("trigger the parser does not read: %s", sql)
			continue
		}
		got.refuse(strings.ToLower(m[2]), m[1])
	}
	if !reflect.DeepEqual(want.Refused, got.Refused) {
		t.Errorf("append-only tables:\n parsed: %v\n sqlite: %v", want.Refused, got.Refused)
	}
}

func queryStrings(t *testing.T, s *Store, query string, args ...any) []string {
	t.Helper()
	rows, err := s.r.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestParseSchemaRejectsWhatItDoesNotKnow(t *testing.T) {
	tests := []struct {
		name string
		stmt string
	}{
		{"alter of an unknown table", "ALTER TABLE x ADD y INTEGER"},
		{"alter other than add", "CREATE TABLE x (a INTEGER NOT NULL);\nALTER TABLE x DROP COLUMN a"},
		{"alter adds a column twice", "CREATE TABLE x (a INTEGER NOT NULL);\nALTER TABLE x ADD a INTEGER"},
		{"alter adds two columns", "CREATE TABLE x (a INTEGER NOT NULL);\nALTER TABLE x ADD b INTEGER, c INTEGER"},
		{"drop of an unknown table", "DROP TABLE x"},
		{"drop index", "CREATE TABLE x (a INTEGER NOT NULL);\nCREATE INDEX i ON x(a);\nDROP INDEX i"},
		{"constraint", "CREATE TABLE x (a INTEGER NOT NULL, CONSTRAINT c UNIQUE (a))"},
		{"unknown key column", "CREATE TABLE x (a INTEGER NOT NULL, PRIMARY KEY (b))"},
		{"unbalanced", "CREATE TABLE x (a INTEGER NOT NULL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := parseSchema(splitStatements(tt.stmt)); err == nil {
				t.Errorf("parseSchema(%q) accepted it", tt.stmt)
			}
		})
	}
	sc, err := parseSchema([]string{"CREATE TABLE t (a BIGINT IDENTITY(1,1) PRIMARY KEY, b NVARCHAR(450) NOT NULL UNIQUE, c TEXT, PRIMARY KEY (c, a))"})
	if err != nil {
		t.Fatal(err)
	}
	want := []column{{Name: "a", PK: 2}, {Name: "b", NotNull: true, Unique: true}, {Name: "c", PK: 1}}
	if !reflect.DeepEqual(sc.Tables["t"], want) {
		t.Errorf("parsed %+v, want %+v", sc.Tables["t"], want)
	}
	// A column added, rows moved, a table dropped with its index.
	sc, err = parseSchema(splitStatements(`CREATE TABLE t (a INTEGER NOT NULL PRIMARY KEY);
CREATE TABLE old (k INTEGER NOT NULL);
CREATE INDEX old_k ON old(k);
ALTER TABLE t ADD b NVARCHAR(MAX) NOT NULL CONSTRAINT t_b_default DEFAULT N'{}';
ALTER TABLE dbo.t ADD c INTEGER;
INSERT INTO t (a, b, c) SELECT k, '{}', 0 FROM old;
UPDATE t SET c = 1;
DROP TABLE old;`))
	if err != nil {
		t.Fatal(err)
	}
	want = []column{{Name: "a", NotNull: true, PK: 1}, {Name: "b", NotNull: true}, {Name: "c"}}
	if !reflect.DeepEqual(sc.Tables["t"], want) || len(sc.Tables) != 1 || len(sc.Indexes) != 0 {
		t.Errorf("after ALTER and DROP: %+v, want only t %+v and no index", sc, want)
	}
}

func TestMigrationsNumberedWithoutGaps(t *testing.T) {
	for _, d := range []Dialect{SQLite, SQLServer} {
		ms, err := Migrations(d)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		if len(ms) == 0 {
			t.Fatalf("%s: no migrations", d)
		}
		for i, m := range ms {
			if m.Version != i+1 {
				t.Errorf("%s: migration %d has version %d", d, i, m.Version)
			}
			if m.Description == "" || strings.TrimSpace(m.SQL) == "" {
				t.Errorf("%s: migration %d has no description or no SQL", d, m.Version)
			}
		}
	}
	lite, _ := Migrations(SQLite)
	server, _ := Migrations(SQLServer)
	if len(lite) != len(server) {
		t.Fatalf("sqlite has %d migrations, sqlserver %d", len(lite), len(server))
	}
	for i := range lite {
		if lite[i].Description != server[i].Description {
			t.Errorf("migration %d is %q in sqlite but %q in sqlserver", i+1, lite[i].Description, server[i].Description)
		}
	}
	// File names are the embedded FS's: NNN_description.sql, three digits.
	for _, d := range []string{"sqlite", "sqlserver"} {
		entries, _ := fs.ReadDir(migrations.FS, d)
		for _, e := range entries {
			if !regexp.MustCompile(`^\d{3}_[a-z0-9_]+\.sql$`).MatchString(e.Name()) {
				t.Errorf("%s/%s is not named NNN_description.sql", d, e.Name())
			}
		}
	}
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"comments only", "-- a\n  -- b\n\n", nil},
		{"one", "CREATE TABLE a (x INTEGER);", []string{"CREATE TABLE a (x INTEGER)"}},
		{"two with comments", "-- head\nCREATE TABLE a (\n  x INTEGER -- not a comment line\n);\n\n-- mid\nCREATE INDEX i ON a(x);\n",
			[]string{"CREATE TABLE a (\n  x INTEGER -- not a comment line\n)", "CREATE INDEX i ON a(x)"}},
		{"semicolon inside a line stays", "INSERT INTO a VALUES ('x;y');", []string{"INSERT INTO a VALUES ('x;y')"}},
		{"no final semicolon", "CREATE TABLE a (x INTEGER);\nCREATE TABLE b (y INTEGER)", []string{"CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER)"}},
		{"crlf", "CREATE TABLE a (x INTEGER);\r\nCREATE TABLE b (y INTEGER);\r\n", []string{"CREATE TABLE a (x INTEGER)", "CREATE TABLE b (y INTEGER)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitStatements(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("splitStatements(%q)\n got  %q\n want %q", tt.in, got, tt.want)
			}
		})
	}
	// Every real migration splits into statements that each start with a
	// statement the schema test reads (or passes over: rows moved).
	for _, d := range []Dialect{SQLite, SQLServer} {
		ms, _ := Migrations(d)
		for _, m := range ms {
			for _, st := range splitStatements(m.SQL) {
				known := false
				for _, p := range []string{"CREATE ", "ALTER TABLE ", "DROP TABLE ", "INSERT INTO ", "UPDATE "} {
					known = known || strings.HasPrefix(st, p)
				}
				if !known || strings.HasSuffix(st, ";") {
					t.Errorf("%s %03d: odd statement %q", d, m.Version, st)
				}
			}
		}
	}
}

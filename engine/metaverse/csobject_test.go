package metaverse

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"
	"weak"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// A csObject gives back every value of every attribute, whether its slots
// are narrow or, when a number does not fit in 16 bits, wide.
func TestCompact(t *testing.T) {
	many := make([]string, 70_000)
	for i := range many {
		many[i] = strconv.Itoa(i)
	}
	tests := []struct {
		name   string
		attrs  map[string][]string
		narrow bool
	}{
		{"none", map[string][]string{}, true},
		{"a user", map[string][]string{"mail": {"ann@example.test"}, "proxyaddresses": {"SMTP:ann@example.test", "smtp:ann@corp.local"},
			"description": {""}, "sn": {"Ann"}}, true},
		{"a value over 64 KiB", map[string][]string{"mail": {"ann@example.test"}, "jpegphoto": {strings.Repeat("x", 70_000)}, "sn": {"Ann"}}, false},
		{"values over 64 KiB in all", map[string][]string{"mail": {"ann@example.test"}, "description": {strings.Repeat("x", 40_000), strings.Repeat("y", 40_000)}}, false},
		{"more than 65,535 values", map[string][]string{"mail": {"ann@example.test"}, "othermailbox": many[:66_000], "sn": {"Ann"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := connector.Object{Connector: corp, Anchor: guid(1), DN: "CN=Ann,DC=corp", Class: connector.ClassUser, Attrs: tt.attrs}
			c, dn := compact(&o, nil)
			if c.Anchor != o.Anchor || c.DN != o.DN || dn != "cn=ann,dc=corp" {
				t.Errorf("anchor %q, DN %q, lower-case DN %q", c.Anchor, c.DN, dn)
			}
			if c.narrow != tt.narrow {
				t.Errorf("narrow %v, want %v", c.narrow, tt.narrow)
			}
			for name, want := range tt.attrs {
				if got := c.values(name); !slices.Equal(got, want) {
					t.Errorf("%s: %d values, want %d", name, len(got), len(want))
				}
				if got := c.count(name); got != len(want) {
					t.Errorf("count(%s) = %d, want %d", name, got, len(want))
				}
			}
			if got := c.Attr("cn"); got != "" {
				t.Errorf("Attr(cn) = %q, want none", got)
			}
		})
	}
}

// TestFullSyncLetsTheOldObjectsGo: what the engine keeps past a full sync
// (the keys objects had before) holds none of the connector-space objects
// it replaced — their anchors are parts of their blobs, and a key of the
// map holding a view of one would keep the whole blob of every object of
// the generation before alive (measured at 200,000 objects: 74 MB).
func TestFullSyncLetsTheOldObjectsGo(t *testing.T) {
	d := newSynth(2_000, 500)
	e := NewEngine(baseConfig())
	if _, err := e.full(d.each()); err != nil {
		t.Fatal(err)
	}
	var old []weak.Pointer[byte]
	for en := range e.cs.entries() {
		old = append(old, weak.Make(unsafe.StringData(en.blob)))
	}
	if _, err := e.full(d.each()); err != nil {
		t.Fatal(err)
	}
	if len(e.prior) == 0 {
		t.Fatal("the second full sync kept no prior keys: nothing tested")
	}
	runtime.GC()
	runtime.GC()
	alive := 0
	for _, p := range old {
		if p.Value() != nil {
			alive++
		}
	}
	if alive > 0 {
		t.Errorf("%d of %d blobs of the objects the second full sync replaced are still alive", alive, len(old))
	}
	runtime.KeepAlive(e)
}

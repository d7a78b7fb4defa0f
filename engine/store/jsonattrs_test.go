package store

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzParseJSONAttrs: whatever the text, parseJSONAttrs reads what
// json.Unmarshal reads, or fails where it fails.
func FuzzParseJSONAttrs(f *testing.F) {
	for _, s := range []string{
		`null`, `{}`, `{"a":[]}`, `{"a":["1"]}`, `{"a":["1","2"],"b":["x"]}`,
		`{"mail":["ann@example.test"],"title":["Ingénieure"]}`, // UTF-8 as it is
		`{"a":["1"],"a":["2"]}`,                                // the last one wins
		`{"a":["say \"hi\""]}`, `{"a":["\u00e9"]}`,             // escapes
		`{ "a" : [ "1" ] }`, `{"a":null}`, `{"a":"1"}`, `{"a":[1]}`, // other forms
		`{"a":["1"]`, `{"a":["1"]}}`, `{"a":["1",]}`, `{"a":["1"],}`, `{"a"["1"]}`, `{"a":["`, `{"`, `{`, ``,
		"{\"a\":[\"\xff\"]}", "{\"a\":[\"\x01\"]}", // invalid UTF-8, a control character
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var got, want map[string][]string
		gotErr := parseJSONAttrs(s, &got)
		wantErr := json.Unmarshal([]byte(s), &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%q: error %v, json.Unmarshal's %v", s, gotErr, wantErr)
		}
		if wantErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: read %#v, json.Unmarshal %#v", s, got, want)
		}
		// ParseAttrs: the same into a map that held another object's
		// attributes; null is an empty map.
		reused, err := ParseAttrs(s, map[string][]string{"a": {"before"}, "left": {"over"}})
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("%q: ParseAttrs error %v, json.Unmarshal's %v", s, err, wantErr)
		}
		if wantErr == nil && (want == nil && len(reused) != 0 || want != nil && !reflect.DeepEqual(reused, want)) {
			t.Fatalf("%q: ParseAttrs read %#v, json.Unmarshal %#v", s, reused, want)
		}
	})
}

// TestParseCompactAttrs: what appendJSONAttrs writes is read without
// json.Unmarshal for the whole map.
func TestParseCompactAttrs(t *testing.T) {
	tests := []struct {
		attrs map[string][]string
		fast  bool
	}{
		{nil, true},
		{map[string][]string{}, true},
		{map[string][]string{"displayName": {"Ann Lee"}, "proxyAddresses": {"SMTP:ann@example.test", "smtp:a@example.test"}, "empty": {}}, true},
		{map[string][]string{"title": {"Ingénieure"}}, true},
		{map[string][]string{"department": {"R&D"}}, true}, // json.Marshal escapes &: \u0026
	}
	for _, tt := range tests {
		b, _ := appendJSONAttrs(nil, tt.attrs, nil)
		got, ok := parseCompactAttrs(string(b))
		if ok != tt.fast {
			t.Errorf("%s: read without json.Unmarshal %v, want %v", b, ok, tt.fast)
		}
		var back map[string][]string
		if err := parseJSONAttrs(string(b), &back); err != nil || !reflect.DeepEqual(back, tt.attrs) {
			t.Errorf("%s: read %#v, %v", b, back, err)
		}
		if ok && !reflect.DeepEqual(got, tt.attrs) {
			t.Errorf("%s: read %#v", b, got)
		}
	}
}

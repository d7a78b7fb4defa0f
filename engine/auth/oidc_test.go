package auth

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestRolesFor(t *testing.T) {
	m := GroupMap{
		Admins:      {"A1B2C3D4-0000-0000-0000-000000000001"},
		Operators:   {"ops", "sync-ops"},
		Browse:      {"helpdesk", "ops"},
		PasswordSet: nil,
	}
	tests := []struct {
		name   string
		groups []string
		want   []string
	}{
		{"no groups", nil, nil},
		{"unmapped groups", []string{"finance", "sales"}, nil},
		{"admin id in another case", []string{"a1b2c3d4-0000-0000-0000-000000000001"}, []string{"admins"}},
		{"one value grants two roles", []string{"ops"}, []string{"operators", "browse"}},
		{"several groups, roles in order", []string{"helpdesk", "sync-ops", "other"}, []string{"operators", "browse"}},
		{"space around a value", []string{"  helpdesk "}, []string{"browse"}},
		{"empty values match nothing", []string{"", " "}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RolesFor(tt.groups, m); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("RolesFor(%q) = %q, want %q", tt.groups, got, tt.want)
			}
		})
	}
	if got := RolesFor([]string{"x"}, nil); got != nil {
		t.Errorf("RolesFor with no map = %q", got)
	}
	if !(GroupMap{}).Empty() || !(GroupMap{Admins: nil}).Empty() || (GroupMap{Browse: {"x"}}).Empty() {
		t.Error("GroupMap.Empty is wrong")
	}
}

func TestGroupLines(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"\n \r\n", nil},
		{"a", []string{"a"}},
		{" a \r\nb\n\nA\nc ", []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		if got := GroupLines(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("GroupLines(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestGroupsClaim(t *testing.T) {
	tests := []struct {
		raw  string
		want []string
	}{
		{``, nil},
		{`null`, nil},
		{`["g1","g2"]`, []string{"g1", "g2"}},
		{`["g1", 3, "", null]`, []string{"g1"}},
		{`"g1"`, []string{"g1"}},
		{`{"g":"1"}`, nil},
		{`42`, nil},
	}
	for _, tt := range tests {
		if got := GroupsClaim(json.RawMessage(tt.raw)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("GroupsClaim(%s) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

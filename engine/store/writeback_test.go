package store

import (
	"context"
	"strings"
	"testing"
)

func TestWritebackDelta(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	first, err := s.SaveActiveConfiguration(ctx, Configuration{InstallID: "me", Answers: []byte(`{}`), AppliedBy: "alice", JobID: 1})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.SaveActiveConfiguration(ctx, Configuration{InstallID: "me", Answers: []byte(`{}`), AppliedBy: "alice", JobID: 2})
	if err != nil {
		t.Fatal(err)
	}
	groups1 := "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=" + strings.Repeat("g", 3000)
	steps := []struct {
		name   string
		config int64
		kind   string
		set    *string // nil: only read
		want   string
	}{
		{"none kept: a full read", first, WritebackGroups, nil, ""},
		{"kept", first, WritebackGroups, ptr(groups1), groups1},
		{"replaced", first, WritebackGroups, ptr("https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=two"), "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=two"},
		{"kinds apart", first, WritebackDevices, nil, ""},
		{"devices kept", first, WritebackDevices, ptr("https://graph.microsoft.com/v1.0/devices/delta?$deltatoken=d"), "https://graph.microsoft.com/v1.0/devices/delta?$deltatoken=d"},
		{"groups untouched by devices", first, WritebackGroups, nil, "https://graph.microsoft.com/v1.0/groups/delta?$deltatoken=two"},
		{"a new configuration starts over", second, WritebackGroups, nil, ""},
		{"forgotten", first, WritebackGroups, ptr(""), ""},
		{"forgetting twice", first, WritebackGroups, ptr(""), ""},
		{"devices untouched by forgetting groups", first, WritebackDevices, nil, "https://graph.microsoft.com/v1.0/devices/delta?$deltatoken=d"},
	}
	for _, st := range steps {
		if st.set != nil {
			if err := s.SetWritebackDelta(ctx, st.config, st.kind, *st.set); err != nil {
				t.Fatalf("%s: SetWritebackDelta: %v", st.name, err)
			}
		}
		got, err := s.WritebackDelta(ctx, st.config, st.kind)
		if err != nil || got != st.want {
			t.Fatalf("%s: WritebackDelta = %.60q, %v; want %.60q", st.name, got, err, st.want)
		}
	}

	const secret = "$deltatoken=must-not-show"
	for _, tt := range []struct {
		name string
		call func() error
	}{
		{"unknown kind read", func() error { _, err := s.WritebackDelta(ctx, first, "users"); return err }},
		{"unknown kind kept", func() error { return s.SetWritebackDelta(ctx, first, "users", "x") }},
		{"no such configuration", func() error { return s.SetWritebackDelta(ctx, 999, WritebackGroups, "https://graph/?"+secret) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error shows the link: %v", err)
			}
		})
	}
}

func ptr(s string) *string { return &s }

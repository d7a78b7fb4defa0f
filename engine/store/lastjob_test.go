package store

import (
	"context"
	"errors"
	"testing"
)

func TestLastJob(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t)
	ids := map[string]int64{}
	for _, j := range []Job{
		{Kind: "sync", Status: "succeeded"},
		{Kind: "sync", Status: "failed", Error: "Export: stopped-deletion-threshold-exceeded: 600 deletes"},
		{Kind: "configure", Status: "running"},
		{Kind: "sync", Status: "failed", Error: "Import: the DC can't be reached (100% lost)"},
		{Kind: "sync", Status: "queued"},
	} {
		j.Params, j.CreatedBy = []byte("{}"), "test"
		id, err := st.CreateJob(ctx, j)
		if err != nil {
			t.Fatal(err)
		}
		j.ID = id
		if _, err := st.UpdateJob(ctx, j, Event{JobID: id, Level: "info", Message: j.Status}); err != nil {
			t.Fatal(err)
		}
		ids[j.Kind+" "+j.Status+" "+j.Error] = id
	}
	tests := []struct {
		name, kind, errorHas string
		statuses             []string
		want                 string // key of ids; "" for ErrNotFound
	}{
		{"newest of a kind", "sync", "", nil, "sync queued "},
		{"in a state", "sync", "", []string{"succeeded"}, "sync succeeded "},
		{"in any of several", "sync", "", []string{"succeeded", "failed"}, "sync failed Import: the DC can't be reached (100% lost)"},
		{"with an error", "sync", "stopped-deletion", []string{"failed"}, "sync failed Export: stopped-deletion-threshold-exceeded: 600 deletes"},
		{"a wildcard is a character", "sync", "100%", nil, "sync failed Import: the DC can't be reached (100% lost)"},
		{"an underscore is a character", "sync", "threshold_exceeded", nil, ""},
		{"another kind", "configure", "", []string{"queued", "running"}, "configure running "},
		{"none", "configure", "", []string{"succeeded"}, ""},
		{"unknown kind", "frobnicate", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := st.LastJob(ctx, tt.kind, tt.errorHas, tt.statuses...)
			if tt.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("got job %d (%v), want none", j.ID, err)
				}
				return
			}
			if err != nil || j.ID != ids[tt.want] {
				t.Errorf("got job %d (%v), want %d (%s)", j.ID, err, ids[tt.want], tt.want)
			}
		})
	}
}

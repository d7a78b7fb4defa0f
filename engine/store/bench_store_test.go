package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
)

func benchOpenStore(b *testing.B) *Store {
	b.Helper()
	ctx := context.Background()
	st, err := Open(ctx, Options{Dialect: SQLite, DSN: filepath.Join(b.TempDir(), FileName)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	return st
}

// BenchmarkAppendEvent measures how fast a job's progress is persisted: every
// event is its own transaction on the single SQLite writer.
func BenchmarkAppendEvent(b *testing.B) {
	st := benchOpenStore(b)
	ctx := context.Background()
	id, err := st.CreateJob(ctx, Job{Kind: "bench", Status: "running", Params: []byte("{}"), CreatedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := st.AppendEvent(ctx, Event{JobID: id, Kind: "log", Level: "info", Message: "progress line"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEventsReplay measures a reconnecting viewer's catch-up read of 500 events.
func BenchmarkEventsReplay(b *testing.B) {
	st := benchOpenStore(b)
	ctx := context.Background()
	id, err := st.CreateJob(ctx, Job{Kind: "bench", Status: "running", Params: []byte("{}"), CreatedBy: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 500; i++ {
		if _, err := st.AppendEvent(ctx, Event{JobID: id, Kind: "log", Level: "info", Message: "progress line"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		evs, err := st.Events(ctx, id, 0, 500)
		if err != nil || len(evs) != 500 {
			b.Fatalf("got %d events, err %v", len(evs), err)
		}
	}
}

// benchCSBatches are a full import's batches: n users and a group per 100
// users holding them, in batches of 1,000 objects, as engine/connector
// writes them.
func benchCSBatches(connector string, n int) []CSBatch {
	const partition = "DC=corp,DC=example,DC=test"
	var out []CSBatch
	b := CSBatch{Members: map[string][]string{}}
	var members []string
	for i := 0; i < n; i++ {
		sam := fmt.Sprintf("bench%05d", i)
		dn := fmt.Sprintf("CN=Bench User %05d,OU=Bench Users,%s", i, partition)
		b.Objects = append(b.Objects, CSObject{Connector: connector, Anchor: fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i), Partition: partition,
			DN: dn, Class: "user", USN: int64(10000 + i), InScope: true, Reason: "In a domain and OU that Domain and OU filtering selects.",
			Attrs: map[string][]string{
				"objectclass": {"top", "person", "organizationalPerson", "user"}, "cn": {"Bench User " + sam[5:]}, "name": {"Bench User " + sam[5:]},
				"samaccountname": {sam}, "userprincipalname": {sam + "@corp.example.test"}, "mail": {sam + "@contoso.example"},
				"proxyaddresses": {"SMTP:" + sam + "@contoso.example"}, "givenname": {"Bench"}, "sn": {"User " + sam[5:]},
				"displayname": {"Bench User " + sam[5:]}, "department": {"Benchmarks"}, "useraccountcontrol": {"544"},
				"objectsid": {"AQUAAAAAAAUVAAAAoGXPKGTj0M2M7LdTUAQAAA=="}, "accountexpires": {"9223372036854775807"}, "pwdlastset": {"0"},
			}})
		members = append(members, dn)
		if len(members) == 100 {
			anchor := fmt.Sprintf("%08x-0000-4000-8000-%012x", i, 1<<40+i)
			b.Objects = append(b.Objects, CSObject{Connector: connector, Anchor: anchor, Partition: partition,
				DN: fmt.Sprintf("CN=Bench Group %05d,OU=Bench Users,%s", i, partition), Class: "group", USN: int64(20000 + i), InScope: true,
				Attrs: map[string][]string{"objectclass": {"top", "group"}, "cn": {fmt.Sprintf("Bench Group %05d", i)}, "grouptype": {"-2147483646"}}})
			b.Members[anchor], members = members, nil
		}
		if len(b.Objects) >= 1000 {
			out, b = append(out, b), CSBatch{Members: map[string][]string{}}
		}
	}
	if len(b.Objects) > 0 {
		out = append(out, b)
	}
	return out
}

// BenchmarkApplyCSFull measures a full import's writes into an empty
// connector space: 5,000 users and 50 groups of 100 members.
func BenchmarkApplyCSFull(b *testing.B) {
	st := benchOpenStore(b)
	ctx := context.Background()
	objects := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		batches := benchCSBatches(fmt.Sprintf("bench%d.example.test", i), 5000)
		b.StartTimer()
		for _, batch := range batches {
			n, err := st.ApplyCS(ctx, batch.Objects[0].Connector, batch)
			if err != nil {
				b.Fatal(err)
			}
			objects += n.Added
		}
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkApplyCSUnchanged measures a full import that finds nothing
// changed: every object's digest matches, every membership is there.
func BenchmarkApplyCSUnchanged(b *testing.B) {
	st := benchOpenStore(b)
	ctx := context.Background()
	batches := benchCSBatches("bench.example.test", 5000)
	for _, batch := range batches {
		if _, err := st.ApplyCS(ctx, "bench.example.test", batch); err != nil {
			b.Fatal(err)
		}
	}
	objects := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, batch := range batches {
			n, err := st.ApplyCS(ctx, "bench.example.test", batch)
			if err != nil {
				b.Fatal(err)
			}
			if n.Added+n.Updated+n.MembersAdded+n.MembersRemoved != 0 {
				b.Fatalf("a second import changed %+v", n)
			}
			objects += n.Unchanged
		}
	}
	b.ReportMetric(float64(objects)/b.Elapsed().Seconds(), "objects/s")
}

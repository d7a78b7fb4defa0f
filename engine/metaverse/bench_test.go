package metaverse

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/memstat"
	"github.com/hybridsync/hybridsync/engine/store"
)

// synthetic is a two-forest directory of n objects: 95% users, the rest
// groups — one of 50,000 members, two of 10,000, and small ones of 20.
func synthetic(n int) []connector.Object { return syntheticWith(n, 50_000) }

// syntheticWith is synthetic with a first group of big members, held at
// once; its members' DNs are the users' own strings.
func syntheticWith(n, big int) []connector.Object {
	d := newSynth(n, big)
	objs := make([]connector.Object, 0, n+n/50)
	for i := range d.nUsers {
		objs = append(objs, d.user(i))
	}
	for g := range d.nGroups {
		objs = append(objs, d.group(g, func(i int) string { return objs[i].DN }))
	}
	return objs
}

// synth is the synthetic directory, built an object at a time (object):
// what a caller reading the store a row at a time hands the engine.
type synth struct {
	n, big, nUsers, nGroups int
	// dense: the first group lists the first big users of corp, each
	// once, rather than every third user from the group's offset (which
	// repeats users when the directory has fewer than 3*big users).
	dense bool
}

func newSynth(n, big int) synth { return synth{n: n, big: big, nUsers: n - n/20, nGroups: n / 20} }

// object is the i-th object: users first, then groups.
func (d synth) object(i int) connector.Object {
	if i < d.nUsers {
		return d.user(i)
	}
	return d.group(i-d.nUsers, func(i int) string { return benchDN(corp, i) })
}

// each is the directory as a sequence of objects.
func (d synth) each() Objects {
	return func(yield func(*connector.Object, error) bool) {
		for i := range d.n {
			o := d.object(i)
			if !yield(&o, nil) {
				return
			}
		}
	}
}

func (d synth) user(i int) connector.Object {
	forest := corp
	if i%3 == 2 {
		forest = fab
	}
	return benchUser(forest, i)
}

// group is the g-th group; dn is the DN of the i-th user.
func (d synth) group(g int, dn func(i int) string) connector.Object {
	o := obj(corp, connector.ClassGroup, 10_000_000+g, fmt.Sprintf("CN=G%05d,OU=Groups,DC=corp,DC=example,DC=test", g),
		"grouptype=-2147483646", "samaccountname=G"+strconv.Itoa(g), "description=synthetic group")
	size := 20
	switch g {
	case 0:
		size = d.big
	case 1, 2:
		size = 10_000
	}
	if g == 0 && d.dense {
		for k := range size {
			o.Members = append(o.Members, dn(3*(k/2)+k%2)) // users 3j and 3j+1 are of corp
		}
		return o
	}
	for k := range size {
		if i := (g*7919 + k*3) % d.nUsers; i%3 != 2 { // users of corp
			o.Members = append(o.Members, dn(i))
		}
	}
	return o
}

// nonMember is the i-th user of corp that the first group does not list.
func (d synth) nonMember(i int) int {
	if d.dense {
		return 3*(d.big/2+1) + 3*i
	}
	return 3*i + 1 // users 3k are its members; users 3k+1 are of corp and not
}

func benchDN(forest string, i int) string {
	return fmt.Sprintf("CN=user%06d,OU=Staff,", i) + "DC=" + strings.Join(strings.Split(forest, "."), ",DC=")
}

func benchUser(forest string, i int) connector.Object {
	name := fmt.Sprintf("user%06d", i)
	return obj(forest, connector.ClassUser, i+1, benchDN(forest, i),
		"samaccountname="+name, "useraccountcontrol=512", "userprincipalname="+name+"@example.test",
		"mail="+name+"@example.test", "proxyaddresses=SMTP:"+name+"@example.test", "proxyaddresses=smtp:"+name+"@corp.local",
		"givenname=Given"+name, "sn=Sur"+name, "displayname=User "+name, "title=Engineer", "department=R&D",
		"company=Contoso", "telephonenumber=+1 555 0100", "objectsid=AQUAAAAAAAUVAAAAAQAAAAIAAAADAAAAUQQAAA==")
}

// measureMemory starts a benchmark's memory measure: the soft memory limit
// the console sets (MemoryLimit), a collection returning what earlier
// benchmarks of this process left to the system, and the peak resident set
// reset (Linux's clear_refs 5), so that peakRSS measures this benchmark.
func measureMemory(b *testing.B) { measureMemoryUnder(b, MemoryLimit) }

// measureMemoryUnder is measureMemory under another soft memory limit (the
// console's --memory-limit).
func measureMemoryUnder(b *testing.B, limit int64) {
	debug.SetMemoryLimit(limit)
	debug.FreeOSMemory()
	if err := memstat.ResetPeak(); err != nil {
		b.Log(err)
	}
}

// peakRSS is the process's peak resident set (VmHWM) in MB.
func peakRSS() float64 { return memstat.PeakRSS() }

// BenchmarkFullSync100k is an engine-only full sync of 100,000 synthetic
// objects, including persisting the metaverse, the joins with their traces
// and the 100,000 pending adds to the SQLite store (no export).
func BenchmarkFullSync100k(b *testing.B) {
	ctx := context.Background()
	measureMemory(b)
	objs := synthetic(100_000)
	var res *Result
	for b.Loop() {
		b.StopTimer()
		st := openStore(b)
		e := NewEngine(baseConfig())
		b.StartTimer()
		var err error
		if res, err = e.Sync(ctx, st, true, objs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Objects), "objects")
	b.ReportMetric(float64(res.Adds), "adds")
	b.ReportMetric(peakRSS(), "peak-RSS-MB")
	b.ReportMetric(float64(MemoryLimit>>20), "memory-limit-MB")
}

// BenchmarkFullSyncMemory100k is the same full sync without the store: the
// rules, joins, memberships and traces in memory.
func BenchmarkFullSyncMemory100k(b *testing.B) {
	measureMemory(b)
	objs := synthetic(100_000)
	for b.Loop() {
		e := NewEngine(baseConfig())
		e.Full(objs)
	}
	b.ReportMetric(peakRSS(), "peak-RSS-MB")
	b.ReportMetric(float64(MemoryLimit>>20), "memory-limit-MB")
}

// BenchmarkDeltaSync100k is a delta cycle on the 100,000 objects after a
// full sync whose exports were all confirmed: 1% users added, 1% deleted,
// 5% changed, and the groups whose membership those change — persisted.
// Its peak RSS is the delta's: measured from the end of the setup, with the
// engine holding the metaverse between cycles as the console does; the
// setup confirms the exports in batches of 5,000, as an export does.
func BenchmarkDeltaSync100k(b *testing.B) {
	ctx := context.Background()
	objs := synthetic(100_000)
	nUsers := 95_000
	var res *Result
	for b.Loop() {
		b.StopTimer()
		st := openStore(b)
		e := NewEngine(baseConfig())
		if _, err := e.Sync(ctx, st, true, objs); err != nil {
			b.Fatal(err)
		}
		confirmPending(b, st)
		delta := churn(len(objs), nUsers, func(i int) connector.Object { return objs[i] })
		measureMemory(b)
		b.StartTimer()
		var err error
		if res, err = e.Sync(ctx, st, false, delta); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Adds), "adds")
	b.ReportMetric(float64(res.Updates), "updates")
	b.ReportMetric(float64(res.Deletes), "deletes")
	b.ReportMetric(float64(res.Memberships), "memberships")
	b.ReportMetric(peakRSS(), "peak-RSS-MB")
	b.ReportMetric(float64(MemoryLimit>>20), "memory-limit-MB")
}

// confirmPending stands for an export that confirmed every pending export:
// it reads them from the store in pages of 5,000 and confirms each page, as
// an export does, giving each add a cloud id.
func confirmPending(b testing.TB, st *store.Store) {
	ctx := context.Background()
	for {
		page, err := st.PendingExports(ctx, store.PendingFilter{Limit: 5_000})
		if err != nil {
			b.Fatal(err)
		}
		if len(page) == 0 {
			return
		}
		done := make([]Change, len(page))
		for i, p := range page {
			if err := json.Unmarshal(p.Change, &done[i]); err != nil {
				b.Fatal(err)
			}
			done[i].CloudID = "cloud-" + done[i].Key
		}
		if err := st.RecordExported(ctx, Confirmed(done)); err != nil {
			b.Fatal(err)
		}
	}
}

// churn is a delta of a synthetic directory of n objects, nUsers of them
// users, the i-th being at(i): 1% of its objects deleted (users), 1% users
// added, 5% users changed, and the groups whose membership those change —
// each group loses its deleted members, and the first group gains the new
// users.
func churn(n, nUsers int, at func(i int) connector.Object) []connector.Object {
	var delta []connector.Object
	for o, _ := range churnEach(n, nUsers, at) {
		delta = append(delta, *o)
	}
	return delta
}

// churnEach is churn made one object at a time, as a delta reads the
// changed objects from the store: a benchmark that holds them all holds
// 130 MB at a million that the console never does. Which objects change is
// worked out when it is called; the sequence makes only those.
func churnEach(n, nUsers int, at func(i int) connector.Object) Objects {
	deleted := map[string]bool{}
	for i := 0; i < n/100; i++ { // 1% deleted
		deleted[at(i*90).DN] = true
	}
	var groups []int // the groups losing members, and the first
	for g := nUsers; g < n; g++ {
		o := at(g)
		if g == nUsers || slices.ContainsFunc(o.Members, func(dn string) bool { return deleted[dn] }) {
			groups = append(groups, g)
		}
	}
	return func(yield func(*connector.Object, error) bool) {
		for i := 0; i < n/100; i++ {
			o := at(i * 90)
			o.Deleted = true
			if !yield(&o, nil) {
				return
			}
		}
		var added []string
		for i := 0; i < n/100; i++ { // 1% added
			u := benchUser(corp, 2*n+i)
			added = append(added, u.DN)
			if !yield(&u, nil) {
				return
			}
		}
		for i := 0; i < n/20; i++ { // 5% changed
			o := at(i*19 + 7)
			if deleted[o.DN] {
				continue
			}
			o.Attrs = maps2(o.Attrs)
			o.Attrs["title"] = []string{"Manager"}
			if !yield(&o, nil) {
				return
			}
		}
		for _, g := range groups { // each loses its deleted members; the first gains the new users
			o := at(g)
			o.Members = slices.DeleteFunc(o.Members, func(dn string) bool { return deleted[dn] })
			if g == nUsers {
				o.Members = append(o.Members, added...)
			}
			if !yield(&o, nil) {
				return
			}
		}
	}
}

func maps2(m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

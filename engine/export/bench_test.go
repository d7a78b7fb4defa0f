package export

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/metaverse"
)

// BenchmarkExportThroughput exports enough creates to fill several windows
// of a small write budget (300 writes per 15 s) on the tenant emulator, and
// prints the writes per second achieved against the budget's rate. The
// budget starts full, so the first window's writes go at once; the ratio
// (target ≥ 0.95) is the sustained rate after that burst:
// (writes − budget) / (time from the first write to the last) / (budget / window).
func BenchmarkExportThroughput(b *testing.B) {
	const (
		budget  = 300
		window  = 15 * time.Second
		windows = 4
	)
	for range b.N {
		e := newEnv(b, tenant.Options{WriteBudget: budget, WriteWindow: window}, Options{})
		// The daemon app (client credentials): the setup's writes were made
		// through another app, so the export starts with a full budget.
		ts := &cloud.ClientCredentials{Authority: e.srv.URL + "/" + e.tn.TenantID(), ClientID: tenant.SyncClientID,
			ClientSecret: tenant.SyncClientSecret, HTTPClient: e.srv.Client()}
		var exp *Exporter
		g, err := cloud.New(cloud.Config{GraphURL: e.cfg.GraphURL, HTTPClient: e.srv.Client(), OnRetry: func(s int, w time.Duration) {
			e.retries.Add(1)
			exp.OnRetry(s, w)
		}}, ts)
		if err != nil {
			b.Fatal(err)
		}
		exp = New(g, e.st, Options{WriteBudget: budget, WriteWindow: window})
		var cs []metaverse.Change
		for i := range budget * windows {
			k := fmt.Sprintf("bench%05d", i)
			cs = append(cs, userAdd(k, k+"@"+domain))
		}
		start := time.Now()
		res, err := exp.Run(context.Background(), cs)
		end := time.Now()
		if err != nil || res.Adds != len(cs) {
			b.Fatalf("export: %v, %+v", err, res)
		}
		writes := float64(res.Writes)
		fromFirst := end.Sub(exp.pacer.first)
		rate := float64(budget) / window.Seconds()
		sustained := (writes - budget) / fromFirst.Seconds()
		b.ReportMetric(writes/end.Sub(start).Seconds(), "writes/s")
		b.ReportMetric(sustained/rate, "x-budget")
		fmt.Printf("export throughput: %d writes in %v (%v from the first write; 429 retries %d); budget %d per %v = %.1f writes/s; "+
			"overall %.1f writes/s; sustained after the first window %.2f writes/s = %.3f× the budget\n",
			res.Writes, end.Sub(start).Round(time.Millisecond), fromFirst.Round(time.Millisecond), e.retries.Load(), budget, window, rate,
			writes/end.Sub(start).Seconds(), sustained, sustained/rate)
	}
}

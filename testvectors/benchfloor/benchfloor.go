// Package benchfloor measures an operation beside its floor: the bare work the
// operation cannot avoid, timed in the same benchmark loop so that both see
// the same machine. Benchmarks report floor/operation as "x-floor": 1.0
// means the operation adds nothing to its floor, 0.5 that it costs twice.
package benchfloor

import (
	"testing"
	"time"
)

// Compare runs floor and op in turn b.N times, timing each, and reports
// the floor's time per operation ("floor-ns/op") and floor/op ("x-floor").
func Compare(b *testing.B, floor, op func()) {
	var opTime, floorTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		floor()
		t1 := time.Now()
		op()
		floorTime += t1.Sub(t0)
		opTime += time.Since(t1)
	}
	b.ReportMetric(float64(floorTime.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(floorTime)/float64(opTime), "x-floor")
}

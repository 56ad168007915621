package main

import (
	"log/slog"
	"runtime/debug"
	"testing"
)

func TestServerGCRespectsGOGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)
	log := slog.New(slog.DiscardHandler)
	if got := applyServerGC(fakeEnv{"GOGC": "100"}, log); got != 0 || debug.SetGCPercent(100) != 100 {
		t.Errorf("GOGC set by the operator: the target was changed (%d)", got)
	}
	if got := applyServerGC(fakeEnv{}, log); got != serverGCPercent || debug.SetGCPercent(100) != serverGCPercent {
		t.Errorf("GOGC unset: target %d, want %d", got, serverGCPercent)
	}
}

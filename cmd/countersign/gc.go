package main

import (
	"log/slog"
	"runtime/debug"
)

// serverGCPercent is the garbage collector's target for the serving
// commands when the operator has not set GOGC.
//
// Countersign's live heap is small (a few MB: the decision path keeps
// little), and Go's collector runs whenever the heap has grown by GOGC
// percent of it, never later than at 4 MB: under load that was a
// collection every 15 ms or so (70 a second at 16k decisions/s), with the
// write barrier on for much of the time, and 20-25% more CPU per decision
// than with a target of 400%. The price is memory: the heap may grow to
// five times the live heap (tens of MB here) before a collection. Set GOGC
// (and GOMEMLIMIT) to choose otherwise, e.g. in a small container.
const serverGCPercent = 400

// applyServerGC sets the collector's target for a long-running server
// unless the environment sets GOGC; it returns the target it set (0 when
// it left the runtime's own).
func applyServerGC(env envSource, log *slog.Logger) int {
	if _, set := env.Lookup("GOGC"); set {
		return 0
	}
	debug.SetGCPercent(serverGCPercent)
	log.Debug("garbage collector target set (GOGC unset)", slog.Int("gogc", serverGCPercent))
	return serverGCPercent
}

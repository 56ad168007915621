package models_test

import (
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// BenchmarkAuditAppend measures one audit event appended in its own
// transaction (lock the chain head, hash, insert, advance the head).
func BenchmarkAuditAppend(b *testing.B) {
	for _, e := range modeltest.Engines() {
		b.Run(e.Name, func(b *testing.B) {
			s := modeltest.Open(b, e, nil)
			entry := models.AuditEntry{Action: "bench.append", ObjectType: "bench", ObjectID: "1", After: map[string]any{"n": 1}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := s.Audit(ctx, modeltest.Admin, entry); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package auth

import (
	"testing"
	"time"
)

// Successful sign-ins do not spend the address's budget; failures do, and
// five failures lock the account.
func TestLoginLimiterCountsFailures(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	l := NewLoginLimiter(func() time.Time { return now })
	for i := range 100 { // a busy office behind one address
		if ok, _ := l.Allow("user@example.com", "10.0.0.1"); !ok {
			t.Fatalf("sign-in %d refused: successes must not use up the address", i+1)
		}
		l.Succeeded("user@example.com", "10.0.0.1")
	}
	for i := range l.AddressAttempts {
		account := string(rune('a'+i%26)) + "@example.com"
		if ok, _ := l.Allow(account, "10.0.0.2"); !ok {
			t.Fatalf("failure %d refused too early", i+1)
		}
		l.Failed(account)
	}
	if ok, wait := l.Allow("new@example.com", "10.0.0.2"); ok || wait <= 0 {
		t.Fatal("an address with 30 failures may still try")
	}
	for range l.AccountFailures {
		l.Allow("victim@example.com", "10.0.0.3")
		l.Failed("victim@example.com")
	}
	if ok, _ := l.Allow("victim@example.com", "10.0.0.4"); ok {
		t.Fatal("an account with 5 failures is not locked")
	}
	now = now.Add(l.Window)
	if ok, _ := l.Allow("victim@example.com", "10.0.0.4"); !ok {
		t.Fatal("the lock outlived its window")
	}
}

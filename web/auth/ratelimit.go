package auth

import (
	"strings"
	"sync"
	"time"
)

// LoginLimiter limits sign-in attempts per account and per client address.
// It counts within fixed windows, in memory; with several replicas each
// enforces its own limits, so the effective limit is per replica.
type LoginLimiter struct {
	mu  sync.Mutex
	now func() time.Time

	// AccountFailures is how many failed attempts lock an account for Window.
	AccountFailures int
	// AddressAttempts is how many failed attempts one address may make per
	// Window (an attempt in progress counts until it succeeds).
	AddressAttempts int
	Window          time.Duration

	accounts  map[string]*window
	addresses map[string]*window
}

type window struct {
	start time.Time
	count int
}

// NewLoginLimiter returns a limiter: 5 failures per account and 30 failed
// attempts per address in 15 minutes.
func NewLoginLimiter(now func() time.Time) *LoginLimiter {
	if now == nil {
		now = time.Now
	}
	return &LoginLimiter{now: now, AccountFailures: 5, AddressAttempts: 30, Window: 15 * time.Minute,
		accounts: map[string]*window{}, addresses: map[string]*window{}}
}

// Allow records an attempt from the address and reports whether it may go
// ahead; when not, it returns how long to wait.
func (l *LoginLimiter) Allow(account, address string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.gc(now)
	account = strings.ToLower(strings.TrimSpace(account))
	if w := l.current(l.accounts, account, now); w.count >= l.AccountFailures {
		return false, w.start.Add(l.Window).Sub(now)
	}
	w := l.current(l.addresses, address, now)
	if w.count >= l.AddressAttempts {
		return false, w.start.Add(l.Window).Sub(now)
	}
	w.count++
	return true, 0
}

// Failed records a failed attempt on an account.
func (l *LoginLimiter) Failed(account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	account = strings.ToLower(strings.TrimSpace(account))
	l.current(l.accounts, account, l.now()).count++
}

// Succeeded clears the account's failures and gives the address its
// attempt back: only failures spend an address's budget, so that people
// behind one address (an office, a proxy) who sign in correctly never lock
// each other out.
func (l *LoginLimiter) Succeeded(account, address string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.accounts, strings.ToLower(strings.TrimSpace(account)))
	if w, ok := l.addresses[address]; ok && w.count > 0 {
		w.count--
	}
}

func (l *LoginLimiter) current(m map[string]*window, key string, now time.Time) *window {
	w, ok := m[key]
	if !ok || now.Sub(w.start) >= l.Window {
		w = &window{start: now}
		m[key] = w
	}
	return w
}

// gc drops windows that have ended, so the maps stay bounded.
func (l *LoginLimiter) gc(now time.Time) {
	if len(l.accounts)+len(l.addresses) < 10000 {
		return
	}
	for _, m := range []map[string]*window{l.accounts, l.addresses} {
		for k, w := range m {
			if now.Sub(w.start) >= l.Window {
				delete(m, k)
			}
		}
	}
}

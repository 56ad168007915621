// Package modeltest opens fresh, migrated stores for tests: a new SQLite file
// per test and, when COUNTERSIGN_TEST_POSTGRES holds a DSN, a new PostgreSQL
// schema per test, so runs never collide. It also provides a fixed clock.
package modeltest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// PostgresEnv names the environment variable holding the PostgreSQL DSN.
const PostgresEnv = "COUNTERSIGN_TEST_POSTGRES"

// Epoch is the fixed start time of every test clock.
var Epoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// Clock is a settable clock for tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock set to Epoch.
func NewClock() *Clock { return &Clock{now: Epoch} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// CheapArgon2 makes password hashing fast in tests (never in production).
var CheapArgon2 = models.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

// Engine is a database engine tests can run on.
type Engine struct {
	Name string
	// DSN returns a DSN for a fresh, empty database of this engine.
	DSN func(t testing.TB) string
}

// Engines returns SQLite and, when configured, PostgreSQL.
func Engines() []Engine {
	engines := []Engine{{Name: "sqlite", DSN: SQLiteDSN}}
	if os.Getenv(PostgresEnv) != "" {
		engines = append(engines, Engine{Name: "postgres", DSN: PostgresDSN})
	}
	return engines
}

// SQLiteDSN returns the path of a new SQLite file in the test's temp dir.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "countersign.db")
}

// PostgresDSN creates a schema for this test and returns a DSN whose
// search_path points at it. The schema is dropped when the test ends.
func PostgresDSN(t testing.TB) string {
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(PostgresEnv + " is not set")
	}
	schema := fmt.Sprintf("t_%d_%s", time.Now().UnixNano(), strings.ToLower(models.RandomToken(4)))
	schema = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return '_'
	}, schema)
	admin, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresEnv, err)
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	sqlDB, _ := admin.DB()
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		sqlDB.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// FingerprintKey is the fixed fingerprint key of tests.
var FingerprintKey = []byte("countersign-test-fingerprint-key-0123456789")

// TestFingerprinter returns a Fingerprinter with FingerprintKey.
func TestFingerprinter() *models.Fingerprinter {
	f, err := models.NewFingerprinter(FingerprintKey)
	if err != nil {
		panic(err)
	}
	return f
}

// Open opens and migrates a store on a fresh database of the engine, with
// the given clock (nil: a new Clock). The store is closed when the test ends.
func Open(t testing.TB, e Engine, clock *Clock) *models.Store {
	t.Helper()
	return OpenDSN(t, e.DSN(t), clock)
}

// OpenDSN opens and migrates a store on an existing database; two stores on
// one DSN are two replicas with separate connection pools.
func OpenDSN(t testing.TB, dsn string, clock *Clock) *models.Store {
	t.Helper()
	if clock == nil {
		clock = NewClock()
	}
	s, err := models.Open(context.Background(), models.Options{DSN: dsn, Now: clock.Now, Argon2: CheapArgon2,
		Fingerprinter: TestFingerprinter()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate store: %v", err)
	}
	return s
}

// OpenSQLite is Open on a fresh SQLite file.
func OpenSQLite(t testing.TB, clock *Clock) *models.Store {
	return Open(t, Engine{Name: "sqlite", DSN: SQLiteDSN}, clock)
}

// Each runs fn as a subtest on every engine, each with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, s *models.Store, clock *Clock)) {
	for _, e := range Engines() {
		t.Run(e.Name, func(t *testing.T) {
			clock := NewClock()
			fn(t, Open(t, e, clock), clock)
		})
	}
}

// Admin is the actor fixture used by store tests.
var Admin = models.Actor{Label: "test-admin", RequestID: "req-test"}

// MustUser creates a user with an optional role (teamID 0: org-wide).
func MustUser(t testing.TB, s *models.Store, email string, role models.Role, teamID uint) models.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), Admin, models.NewUser{
		Email: email, Name: strings.Split(email, "@")[0], Password: "correct horse battery", Role: role, TeamID: teamID})
	if err != nil {
		t.Fatalf("create user %s: %v", email, err)
	}
	return u
}

// MustTeam creates a team.
func MustTeam(t testing.TB, s *models.Store, slug string) models.Team {
	t.Helper()
	team, err := s.CreateTeam(context.Background(), Admin, models.TeamInput{Slug: slug, Name: strings.ToUpper(slug[:1]) + slug[1:]})
	if err != nil {
		t.Fatalf("create team %s: %v", slug, err)
	}
	return team
}

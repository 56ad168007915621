package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/libtnb/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Dialect names the database engine behind a Store.
type Dialect string

// The two supported engines.
const (
	DialectSQLite   Dialect = "sqlite"
	DialectPostgres Dialect = "postgres"
)

// Store is the only way into the database. Every method takes a context first.
// On SQLite it keeps two pools: one writer connection (immediate transactions,
// so writers queue on busy_timeout instead of failing) and a pool of readers.
// On PostgreSQL both are the same pool.
type Store struct {
	write   *gorm.DB
	read    *gorm.DB
	dialect Dialect
	now     func() time.Time
	log     *slog.Logger
	argon   Argon2Params
	fp      *Fingerprinter
	sched   ScheduleOptions
	// cache holds the rows every decision reads (decision_cache.go).
	cache *decisionCache
	// dash holds recently computed dashboards (dashboard_cache.go).
	dash *dashboardCache
	// decisions batches decision records into group commits (decision_recorder.go).
	decisions *decisionRecorder
	// ckpt checkpoints the SQLite WAL off the writer (checkpoint.go).
	ckpt *checkpointer
}

// Options configure Open.
type Options struct {
	// DSN is a file path (SQLite) or a postgres:// URL.
	DSN string
	// Now is the clock; nil means time.Now. Tests inject a fixed clock.
	Now func() time.Time
	// Logger receives slow-query and error logs; nil discards them.
	Logger *slog.Logger
	// MaxReaders bounds the SQLite reader pool (default 4).
	MaxReaders int
	// MaxConns bounds the PostgreSQL pool of this replica (default 20), so
	// that a burst of requests queues for a connection instead of
	// exhausting the server's max_connections.
	MaxConns int
	// Argon2 sets the cost of new password hashes (zero: the default).
	// Tests lower it; production keeps the default.
	Argon2 Argon2Params
	// Fingerprinter fingerprints pasted secrets; nil refuses them (a
	// validation error on the secret field).
	Fingerprinter *Fingerprinter
	// Schedule bounds rotation schedules (minimum interval).
	Schedule ScheduleOptions
	// PolicyCacheTTL is how long the decision path trusts the tokens,
	// servers, tools and rules it cached before reading them again: the
	// delay before a change made by another process (the CLI, another
	// replica) applies. Changes made through this store apply at once.
	// Zero means DefaultPolicyCacheTTL.
	PolicyCacheTTL time.Duration
	// DashboardCacheTTL is how long a computed compliance dashboard is
	// reused while nothing it reads changes in this process. Zero means
	// DefaultDashboardCacheTTL; negative turns the cache off.
	DashboardCacheTTL time.Duration
}

// IsPostgresDSN reports whether dsn names a PostgreSQL database.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to the database named by opts.DSN and checks that it answers.
// It does not migrate; call Migrate.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxReaders <= 0 {
		opts.MaxReaders = 4
	}
	if opts.Argon2.Time == 0 {
		opts.Argon2 = DefaultArgon2Params
	}
	s := &Store{now: opts.Now, log: opts.Logger, argon: opts.Argon2, fp: opts.Fingerprinter, sched: opts.Schedule,
		cache: &decisionCache{ttl: opts.PolicyCacheTTL}, dash: newDashboardCache(opts.DashboardCacheTTL)}
	if s.cache.ttl <= 0 {
		s.cache.ttl = DefaultPolicyCacheTTL
	}
	cfg := &gorm.Config{
		NowFunc:                func() time.Time { return s.Now() },
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		TranslateError:         true,
	}
	var err error
	if IsPostgresDSN(opts.DSN) {
		s.dialect = DialectPostgres
		if _, perr := url.Parse(opts.DSN); perr != nil {
			return nil, fmt.Errorf("database URL is not valid: %w", perr)
		}
		s.write, err = gorm.Open(postgres.Open(opts.DSN), cfg)
		if err != nil {
			return nil, fmt.Errorf("database is not reachable (PostgreSQL): %w", err)
		}
		s.read = s.write
		if opts.MaxConns <= 0 {
			opts.MaxConns = 20
		}
		pool, _ := s.write.DB()
		pool.SetMaxOpenConns(opts.MaxConns)
		pool.SetMaxIdleConns(min(opts.MaxConns, 10))
	} else {
		s.dialect = DialectSQLite
		if s.write, err = gorm.Open(sqlite.Open(SQLiteDSN(opts.DSN, false)), cfg); err != nil {
			return nil, fmt.Errorf("open SQLite %s: %w", opts.DSN, err)
		}
		writer, _ := s.write.DB()
		writer.SetMaxOpenConns(1)
		writer.SetMaxIdleConns(1)
		writer.SetConnMaxLifetime(0)
		if s.read, err = gorm.Open(sqlite.Open(SQLiteDSN(opts.DSN, true)), cfg); err != nil {
			return nil, fmt.Errorf("open SQLite %s: %w", opts.DSN, err)
		}
		reader, _ := s.read.DB()
		reader.SetMaxOpenConns(opts.MaxReaders)
		reader.SetMaxIdleConns(opts.MaxReaders)
		if s.ckpt, err = startCheckpointer(opts.DSN, s.log); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	if err := s.registerPolicyCallbacks(s.write); err != nil {
		return nil, fmt.Errorf("register cache callbacks: %w", err)
	}
	if err := s.registerDashboardCallbacks(s.write); err != nil {
		return nil, fmt.Errorf("register dashboard cache callbacks: %w", err)
	}
	s.decisions = newDecisionRecorder(s)
	if s.dialect == DialectSQLite {
		if s.decisions.journal, err = openDecisionJournal(s, opts.DSN); err != nil {
			_ = s.Close()
			return nil, err
		}
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := s.Ping(pingCtx); err != nil {
		_ = s.Close()
		return nil, fmt.Errorf("database is not reachable: %w", err)
	}
	return s, nil
}

// SQLiteDSN turns a file path into a DSN that sets, on every connection, WAL
// journaling, a 5 s busy timeout, foreign keys, and immediate transactions
// (so a writer takes the lock at BEGIN and never fails half-way with
// SQLITE_BUSY). Readers are opened query-only, with a page cache of up to
// 32 MiB each (SQLite's default is 2 MiB): the reports scan indexes of
// 100k rows, which otherwise are read again from the OS on every view
// (about 8% of the dashboard's CPU at scale). The cache grows only with
// the pages actually read.
func SQLiteDSN(path string, readOnly bool) string {
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		q.Add("_pragma", "query_only(1)")
		q.Add("_pragma", "cache_size(-32768)")
	} else {
		q.Set("_txlock", "immediate")
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpoint))
	}
	return "file:" + path + "?" + q.Encode()
}

// Fingerprinter returns the store's fingerprinter (nil when none is set).
func (s *Store) Fingerprinter() *Fingerprinter { return s.fp }

// ScheduleOptions returns the limits applied to rotation schedules.
func (s *Store) ScheduleOptions() ScheduleOptions { return s.sched }

// Dialect returns the engine behind the store.
func (s *Store) Dialect() Dialect { return s.dialect }

// Now returns the store's clock reading, in UTC, truncated to microseconds so
// that values read back from either engine compare equal.
func (s *Store) Now() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range s.pools() {
		sqlDB, err := db.DB()
		if err != nil {
			return err
		}
		if err := sqlDB.PingContext(ctx); err != nil {
			return err
		}
	}
	return nil
}

// SQLDB returns the writer's database/sql handle, for pool metrics.
func (s *Store) SQLDB() *sql.DB {
	db, _ := s.write.DB()
	return db
}

// Close closes every pool.
func (s *Store) Close() error {
	s.decisions.shutdown()
	errs := []error{s.ckpt.close()}
	for _, db := range s.pools() {
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
	}
	return errors.Join(errs...)
}

func (s *Store) pools() []*gorm.DB {
	if s.read == s.write {
		return []*gorm.DB{s.write}
	}
	return []*gorm.DB{s.write, s.read}
}

// r returns the read pool bound to ctx.
func (s *Store) r(ctx context.Context) *gorm.DB { return s.read.WithContext(ctx) }

// w returns the write pool bound to ctx.
func (s *Store) w(ctx context.Context) *gorm.DB { return s.write.WithContext(ctx) }

// tx runs fn in one write transaction.

// Pragma reads one SQLite pragma from a connection of the given pool; it is
// used by tests and the readiness report. It errors on PostgreSQL.
func (s *Store) Pragma(ctx context.Context, name string, writer bool) (string, error) {
	if s.dialect != DialectSQLite {
		return "", errors.New("pragmas exist only on SQLite")
	}
	db := s.r(ctx)
	if writer {
		db = s.w(ctx)
	}
	var v string
	if err := db.Raw("PRAGMA " + name).Row().Scan(&v); err != nil {
		return "", fmt.Errorf("read pragma %s: %w", name, err)
	}
	return v, nil
}

// mapError turns driver errors into the package's sentinels.
func mapError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	case strings.Contains(err.Error(), "UNIQUE constraint failed"):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

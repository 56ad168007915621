package models

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// checkpointEvery is how often the SQLite WAL is checkpointed in the
// background.
const checkpointEvery = 100 * time.Millisecond

// writerAutoCheckpoint is the WAL size (pages) at which the writer
// connection checkpoints by itself: a backstop for a checkpointer that
// falls far behind.
const writerAutoCheckpoint = 10000

// checkpointer moves SQLite's WAL checkpoints off the writer. SQLite
// checkpoints in the connection that commits the write crossing the
// threshold, and a checkpoint copies the new pages into the database file
// and syncs it: after a burst of writes that sync can take hundreds of
// milliseconds, during which the single writer, and so every decision
// record, waits. A passive checkpoint on a connection of its own every
// 100 ms does the same work without holding the writer (readers and the
// writer go on; what a reader still uses is left for the next round), and
// keeps the WAL short, so the writer's own threshold is never reached.
type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	stop chan struct{}
	done sync.WaitGroup
	once sync.Once
}

func startCheckpointer(dsn string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", SQLiteDSN(dsn, false))
	if err != nil {
		return nil, fmt.Errorf("open the checkpointer's connection: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	c := &checkpointer{db: db, log: log, stop: make(chan struct{})}
	c.done.Add(1)
	go c.loop()
	return c, nil
}

func (c *checkpointer) loop() {
	defer c.done.Done()
	tick := time.NewTicker(checkpointEvery)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			if err := c.checkpoint(); err != nil {
				c.log.Warn("background WAL checkpoint", slog.Any("error", err))
			}
		}
	}
}

// checkpoint runs one passive checkpoint.
func (c *checkpointer) checkpoint() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var busy, frames, done int
	return c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done)
}

// close stops the loop and closes the connection.
func (c *checkpointer) close() error {
	if c == nil {
		return nil
	}
	var err error
	c.once.Do(func() {
		close(c.stop)
		c.done.Wait()
		err = c.db.Close()
	})
	return err
}

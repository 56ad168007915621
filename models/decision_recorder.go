package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// decisionRecorder writes decision records in group commits: concurrent
// decisions queue their records, one goroutine inserts whatever is queued in
// a single statement and transaction, and each caller gets its answer only
// after its record is committed. Nothing is answered unrecorded (a failed
// insert is a deny for every caller of the batch, fail closed), and under
// load one commit carries many records instead of one each.
type decisionRecorder struct {
	store *Store
	queue chan *pendingRecord
	start sync.Once
	stop  chan struct{}
	// finished is closed when the loop has returned.
	finished chan struct{}
	stopped  sync.WaitGroup
	close    sync.Once
	// insert is the prepared INSERT of one row (PostgreSQL), made once by
	// the loop (the only user) and reused by every batch.
	insert *sql.Stmt
	// inserts are the prepared multi-row INSERTs by row count (SQLite).
	inserts map[int]*sql.Stmt
}

type pendingRecord struct {
	rec  *DecisionRecord
	done chan error
}

// maxRecordBatch bounds one group commit.
const maxRecordBatch = 256

var errRecorderClosed = errors.New("the decision recorder is closed")

func newDecisionRecorder(s *Store) *decisionRecorder {
	return &decisionRecorder{store: s, queue: make(chan *pendingRecord, maxRecordBatch), stop: make(chan struct{}),
		finished: make(chan struct{})}
}

// record commits rec (setting its ID) together with whatever other records
// are waiting, and returns once it is committed.
func (r *decisionRecorder) record(ctx context.Context, rec *DecisionRecord) error {
	r.start.Do(func() {
		r.stopped.Add(1)
		go r.loop()
	})
	p := &pendingRecord{rec: rec, done: make(chan error, 1)}
	select {
	case r.queue <- p:
	case <-r.stop:
		return errRecorderClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the record is written whatever happens to ctx: wait for
	// the outcome so that the caller never answers before it is known.
	select {
	case err := <-p.done:
		return err
	case <-r.finished:
		select {
		case err := <-p.done:
			return err
		default:
			return errRecorderClosed // queued after the last batch
		}
	}
}

func (r *decisionRecorder) loop() {
	defer r.stopped.Done()
	defer close(r.finished)
	defer func() {
		if r.insert != nil {
			_ = r.insert.Close()
		}
		for _, stmt := range r.inserts {
			_ = stmt.Close()
		}
	}()
	batch := make([]*pendingRecord, 0, maxRecordBatch)
	for {
		select {
		case p := <-r.queue:
			batch = append(batch[:0], p)
		case <-r.stop:
			r.drain(errRecorderClosed)
			return
		}
	collect:
		for len(batch) < maxRecordBatch {
			select {
			case p := <-r.queue:
				batch = append(batch, p)
			default:
				break collect
			}
		}
		err := r.write(batch)
		for _, p := range batch {
			p.done <- err
		}
	}
}

// decisionColumns are the columns the recorder writes, in order.
const decisionColumns = "at, team_id, client_id, subject, on_behalf_of, server_id, tool_id, resource, outcome, reason, risk, " +
	"rule_id, request_id, grant_id, task_id, latency_micros"

// recordArgs are the values of a record's columns, in order.
func recordArgs(d *DecisionRecord) []any {
	return []any{d.At, d.TeamID, d.ClientID, d.Subject, d.OnBehalfOf, d.ServerID, d.ToolID, d.Resource, string(d.Outcome),
		d.Reason, string(d.Risk), d.RuleID, d.RequestID, d.GrantID, d.TaskID, d.LatencyMicros}
}

// write inserts the batch atomically, with statements prepared once (plain
// database/sql: the ORM's per-statement work was most of the cost).
func (r *decisionRecorder) write(batch []*pendingRecord) error {
	if r.store.dialect == DialectPostgres {
		return r.writeRows(batch)
	}
	return r.writeSQLite(batch)
}

// writeSQLite inserts the batch with one multi-row INSERT, a transaction
// of its own: SQLite runs one statement much faster than one per row, and
// the single writer gives the rows consecutive ids ending at the last
// insert id.
func (r *decisionRecorder) writeSQLite(batch []*pendingRecord) error {
	ctx := context.Background()
	stmt := r.inserts[len(batch)]
	if stmt == nil {
		var q strings.Builder
		q.WriteString("INSERT INTO decisions (" + decisionColumns + ") VALUES ")
		for i := range batch {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
		}
		prepared, err := r.store.SQLDB().PrepareContext(ctx, q.String())
		if err != nil {
			return fmt.Errorf("record decisions: %w", err)
		}
		if r.inserts == nil {
			r.inserts = map[int]*sql.Stmt{}
		}
		r.inserts[len(batch)], stmt = prepared, prepared
	}
	args := make([]any, 0, len(batch)*16)
	for _, p := range batch {
		args = append(args, recordArgs(p.rec)...)
	}
	res, err := stmt.ExecContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("record %d decision(s): %w", len(batch), err)
	}
	last, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("record %d decision(s): %w", len(batch), err)
	}
	first := last - int64(len(batch)) + 1
	for i, p := range batch {
		p.rec.ID = uint(first + int64(i))
	}
	return nil
}

// writeRows inserts the batch row by row in one transaction (PostgreSQL,
// which returns each row's id).
func (r *decisionRecorder) writeRows(batch []*pendingRecord) error {
	ctx := context.Background()
	db := r.store.SQLDB()
	query := "INSERT INTO decisions (" + decisionColumns + ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id"
	if r.insert == nil {
		prepared, err := db.PrepareContext(ctx, query)
		if err != nil {
			return fmt.Errorf("record decisions: %w", err)
		}
		r.insert = prepared
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record decisions: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	stmt := tx.StmtContext(ctx, r.insert)
	defer stmt.Close()
	ids := make([]uint, len(batch))
	for i, p := range batch {
		var id int64
		if err := stmt.QueryRowContext(ctx, recordArgs(p.rec)...).Scan(&id); err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		ids[i] = uint(id)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record %d decision(s): %w", len(batch), err)
	}
	for i, p := range batch {
		p.rec.ID = ids[i]
	}
	return nil
}

// drain answers every queued record with err.
func (r *decisionRecorder) drain(err error) {
	for {
		select {
		case p := <-r.queue:
			p.done <- err
		default:
			return
		}
	}
}

// shutdown stops the loop after the batch in flight; records still queued
// are refused.
func (r *decisionRecorder) shutdown() {
	if r == nil {
		return
	}
	r.close.Do(func() { close(r.stop) })
	r.stopped.Wait()
}

package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// decisionRecorder writes decision records in group commits, led by the
// callers themselves: a caller that finds no write in progress writes its
// own record at once, with whatever else is queued, in one write; callers
// that arrive meanwhile queue, and the first of them leads the next write
// as soon as this one is done. The write is an append to the decision log
// (decision_journal.go) where the store keeps one, else one INSERT (its own
// transaction). Each caller returns only after its record is written.
// Nothing is answered unrecorded (a failed write is a deny for every caller
// of the batch, fail closed), under load one write carries many records,
// and a lone caller pays no hand-off to another goroutine and back
// (LevelDB's writer queue, applied to a log).
type decisionRecorder struct {
	store *Store
	mu    sync.Mutex
	// queue holds the records waiting to be written. Invariant: it is empty
	// unless writing is set (a leader is writing, and hands over when done).
	queue   []*pendingRecord
	writing bool
	closed  bool
	// callers counts the record calls in progress, for shutdown.
	callers sync.WaitGroup
	// journal, when set, takes the records instead of the table
	// (decision_journal.go: SQLite with a file this store owns).
	journal *decisionJournal
	// inserts holds the SQLite INSERT of each batch size, compiled once
	// (the driver keeps a prepared statement's compiled form). Only the
	// leader of a write touches it.
	inserts map[int]*sql.Stmt
}

type pendingRecord struct {
	rec *DecisionRecord
	// done receives exactly one value: the outcome of the write that
	// carried the record, or errLead when its caller is to write next.
	done chan error
}

// maxRecordBatch bounds one group commit (and so the compiled INSERTs kept).
const maxRecordBatch = 64

var (
	errRecorderClosed = errors.New("the decision recorder is closed")
	// errLead tells a queued caller that it leads the next write.
	errLead = errors.New("lead the next write")
)

func newDecisionRecorder(s *Store) *decisionRecorder {
	return &decisionRecorder{store: s, inserts: map[int]*sql.Stmt{}}
}

// record commits rec (setting its ID) together with whatever other records
// are waiting, and returns once it is committed. Once queued, the record is
// written whatever happens to the caller's context, so that the caller
// never answers before the outcome is known.
func (r *decisionRecorder) record(_ context.Context, rec *DecisionRecord) error {
	p := &pendingRecord{rec: rec, done: make(chan error, 1)}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errRecorderClosed
	}
	r.callers.Add(1)
	defer r.callers.Done()
	r.queue = append(r.queue, p)
	if r.writing {
		r.mu.Unlock()
		if err := <-p.done; err != errLead { // a sentinel, sent as is
			return err
		}
		r.mu.Lock()
	} else {
		r.writing = true
	}
	// This caller leads, and its record is the first queued: the queue was
	// empty when it arrived, or it was handed the lead as the first waiter.
	n := min(len(r.queue), maxRecordBatch)
	batch := make([]*pendingRecord, n)
	copy(batch, r.queue)
	r.queue = append(r.queue[:0], r.queue[n:]...)
	r.mu.Unlock()

	err := r.write(batch)
	for _, q := range batch[1:] {
		q.done <- err
	}

	r.mu.Lock()
	if len(r.queue) > 0 {
		r.queue[0].done <- errLead
	} else {
		r.writing = false
	}
	r.mu.Unlock()
	return err
}

// decisionColumns are the columns the recorder writes, in order.
const decisionColumns = "at, team_id, client_id, subject, on_behalf_of, server_id, tool_id, resource, outcome, reason, risk, " +
	"rule_id, request_id, grant_id, task_id, latency_micros"

// recordArgs are the values of a record's columns, in order.
func recordArgs(d *DecisionRecord) []any {
	return []any{d.At, d.TeamID, d.ClientID, d.Subject, d.OnBehalfOf, d.ServerID, d.ToolID, d.Resource, string(d.Outcome),
		d.Reason, string(d.Risk), d.RuleID, d.RequestID, d.GrantID, d.TaskID, d.LatencyMicros}
}

// write inserts the batch atomically (plain
// database/sql: the ORM's per-statement work was most of the cost).
func (r *decisionRecorder) write(batch []*pendingRecord) error {
	if r.journal != nil {
		return r.journal.append(batch)
	}
	if r.store.dialect == DialectPostgres {
		return r.writePostgres(batch)
	}
	return r.writeSQLite(batch)
}

// writeSQLite inserts the batch with one multi-row INSERT, a transaction
// of its own: SQLite runs one statement much faster than one per row, and
// the single writer gives the rows consecutive ids ending at the last
// insert id. The INSERT of each batch size is compiled once and kept.
func (r *decisionRecorder) writeSQLite(batch []*pendingRecord) error {
	stmt, err := r.insertOf(len(batch))
	if err != nil {
		return fmt.Errorf("record %d decision(s): %w", len(batch), err)
	}
	args := make([]any, 0, len(batch)*16)
	for _, p := range batch {
		args = append(args, recordArgs(p.rec)...)
	}
	res, err := stmt.ExecContext(context.Background(), args...)
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

// insertOf returns the compiled INSERT of n rows, preparing it the first
// time.
func (r *decisionRecorder) insertOf(n int) (*sql.Stmt, error) {
	if stmt := r.inserts[n]; stmt != nil {
		return stmt, nil
	}
	stmt, err := r.store.SQLDB().PrepareContext(context.Background(),
		"INSERT INTO decisions ("+decisionColumns+") VALUES "+valueRows(n, 16, false))
	if err != nil {
		return nil, err
	}
	r.inserts[n] = stmt
	return stmt, nil
}

// valueRows is the VALUES list of a multi-row INSERT: rows groups of cols
// placeholders, ? (SQLite) or numbered $1, $2, … (PostgreSQL).
func valueRows(rows, cols int, numbered bool) string {
	var q strings.Builder
	for i := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for c := range cols {
			if c > 0 {
				q.WriteString(", ")
			}
			if numbered {
				q.WriteString("$" + strconv.Itoa(i*cols+c+1))
			} else {
				q.WriteByte('?')
			}
		}
		q.WriteByte(')')
	}
	return q.String()
}

// writePostgres inserts a lone record with one INSERT … RETURNING id, and
// a batch in one transaction: it reserves the batch's ids from the table's
// sequence, inserts every row with its id in one statement, and commits.
// (RETURNING on a multi-row INSERT names the ids but not which row got
// which; reserving them first makes each caller's id certain.)
func (r *decisionRecorder) writePostgres(batch []*pendingRecord) error {
	ctx := context.Background()
	if len(batch) == 1 {
		var id int64
		err := r.store.SQLDB().QueryRowContext(ctx, "INSERT INTO decisions ("+decisionColumns+") VALUES "+valueRows(1, 16, true)+
			" RETURNING id", recordArgs(batch[0].rec)...).Scan(&id)
		if err != nil {
			return fmt.Errorf("record decision: %w", err)
		}
		batch[0].rec.ID = uint(id)
		return nil
	}
	tx, err := r.store.SQLDB().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record decisions: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	rows, err := tx.QueryContext(ctx, "SELECT nextval(pg_get_serial_sequence('decisions', 'id')) FROM generate_series(1, $1)", len(batch))
	if err != nil {
		return fmt.Errorf("reserve %d decision id(s): %w", len(batch), err)
	}
	ids := make([]int64, 0, len(batch))
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("reserve decision ids: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil || len(ids) != len(batch) {
		return fmt.Errorf("reserve %d decision id(s): got %d: %v", len(batch), len(ids), err)
	}
	args := make([]any, 0, len(batch)*17)
	for i, p := range batch {
		args = append(args, ids[i])
		args = append(args, recordArgs(p.rec)...)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO decisions (id, "+decisionColumns+") VALUES "+valueRows(len(batch), 17, true), args...); err != nil {
		return fmt.Errorf("record %d decision(s): %w", len(batch), err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record %d decision(s): %w", len(batch), err)
	}
	for i, p := range batch {
		p.rec.ID = uint(ids[i])
	}
	return nil
}

// shutdown refuses new records and waits for the calls in progress, with
// their queued records, to be written.
func (r *decisionRecorder) shutdown() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.callers.Wait()
	for _, stmt := range r.inserts {
		_ = stmt.Close()
	}
	if r.journal != nil {
		r.journal.close()
	}
}

// flush waits until the records answered so far are in the table (they
// may still be in the journal).
func (r *decisionRecorder) flush(ctx context.Context) error {
	if r == nil || r.journal == nil {
		return nil
	}
	return r.journal.flush(ctx)
}

package models

import (
	"bufio"
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// decisionJournal is the SQLite store's decision log: the group commit of
// decision records appends them to a journal file, one JSON line each, and
// the caller answers once the write has returned; a background ingester
// moves the journal into the decisions table in large transactions.
//
// Why: a commit in SQLite writes whole 4 KiB pages of the table and its two
// indexes to the WAL for a 200-byte record, with a dozen system calls; at
// a few records per commit that was most of a decision's cost. Appending
// the records is one write(2) per group commit, and the table gets the
// same rows, a thousand per transaction.
//
// Durability is the same as a SQLite commit's here (WAL, synchronous=
// NORMAL): once written, a record survives the process crashing, but not
// the machine losing power. Nothing is answered before its record is
// written; a failed write is a deny (fail closed). After a crash the next
// start ingests what the journal holds (INSERT OR IGNORE by id, so a
// segment ingested just before the crash is not counted twice).
//
// Ids are known when the caller answers: they come from blocks reserved in
// sqlite_sequence, so that rows the table numbers itself (decisions written
// inside a grant or review transaction, other processes) never take them.
//
// One journal per database file: the first store to lock it owns it;
// another store on the same file (a second process, a test's replica)
// writes its records straight into the table.
type decisionJournal struct {
	store *Store
	// base is the path prefix of the segments: base.1, base.2, …; appends
	// go to the segment numbered seq.
	base string
	lock *os.File

	// mu guards the active segment and pending; the group commit's leader
	// appends under it, the ingester takes the pending records under it.
	mu      sync.Mutex
	file    *os.File
	size    int64 // bytes in file
	seq     int
	pending []*DecisionRecord
	// appended and ingested count records, for flush.
	appended, ingested uint64
	// progress is closed (and replaced) whenever ingested advances.
	progress chan struct{}
	// failure is the last ingestion error, cleared by a success.
	failure error

	// Only the leader of the group commit touches the id block and buf.
	nextID, lastID int64
	buf            []byte

	// Only the ingester touches these: records taken from pending (or
	// recovered at start) and the segments that hold them.
	inflight      []*DecisionRecord
	inflightFiles []string
	// inserts are the compiled INSERTs of each chunk size, on the driver
	// connection rawConn.
	inserts map[int]driver.Stmt
	rawConn any

	wake   chan struct{}
	stop   chan struct{}
	done   sync.WaitGroup
	closed sync.Once
	// held stops the ingester (tests: HoldDecisionLogForTest).
	held atomic.Bool
}

const (
	// journalIngestEvery is how often the ingester moves the journal into
	// the table when fewer than journalIngestBatch records wait.
	journalIngestEvery = 25 * time.Millisecond
	// journalIngestBatch wakes the ingester early.
	journalIngestBatch = 2000
	// decisionIDBlock is how many ids one reservation takes.
	decisionIDBlock = 1024
	// journalChunk is the rows of one compiled INSERT of the ingester.
	journalChunk = 64
)

// DecisionLogMaxBacklog bounds the records waiting in the decision log for
// the table: past it (the database refuses them for a long while),
// decisions fail closed instead of the log and memory growing without end.
const DecisionLogMaxBacklog = 200_000

// errJournalBacklog fails decisions closed while the table refuses records.
var errJournalBacklog = errors.New("the decision log is not reaching the database: too many records wait")

// journalBase is where the journal of a SQLite database file lives, or ""
// when the database has no file (in memory).
func journalBase(dsn string) string {
	path := strings.TrimPrefix(dsn, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		if strings.Contains(path[i:], "mode=memory") {
			return ""
		}
		path = path[:i]
	}
	if path == "" || path == ":memory:" || strings.HasPrefix(path, ":memory:") {
		return ""
	}
	return path + ".decision-log"
}

// openDecisionJournal takes the journal of the database at dsn and reads
// what a previous process left in it (ingested by the first round of the
// ingester). It returns nil, nil when another store owns the journal or the
// platform cannot lock it: that store writes its records into the table.
func openDecisionJournal(s *Store, dsn string) (*decisionJournal, error) {
	base := journalBase(dsn)
	if base == "" {
		return nil, nil
	}
	lock, err := os.OpenFile(base+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the decision log lock: %w", err)
	}
	if err := lockExclusive(lock); err != nil {
		lock.Close()
		s.log.Info("decision log owned by another store: writing decision records directly", slog.String("path", base))
		return nil, nil
	}
	j := &decisionJournal{store: s, base: base, lock: lock, progress: make(chan struct{}),
		inserts: map[int]driver.Stmt{}, wake: make(chan struct{}, 1), stop: make(chan struct{})}
	segments, err := j.segments()
	if err != nil {
		j.release()
		return nil, err
	}
	for _, n := range segments {
		path := j.segment(n)
		recs, err := readJournalSegment(path)
		if err != nil {
			j.release()
			return nil, err
		}
		j.inflight = append(j.inflight, recs...)
		j.inflightFiles = append(j.inflightFiles, path)
		j.seq = n
	}
	j.appended = uint64(len(j.inflight)) // a flush waits for them too
	if len(j.inflight) > 0 {
		s.log.Info("decision log: records of a previous run to ingest", slog.Int("records", len(j.inflight)))
	}
	j.seq++
	if j.file, err = j.create(j.seq); err != nil {
		j.release()
		return nil, err
	}
	j.done.Add(1)
	go j.ingestLoop()
	return j, nil
}

func (j *decisionJournal) segment(n int) string { return j.base + "." + strconv.Itoa(n) }

func (j *decisionJournal) create(n int) (*os.File, error) {
	f, err := os.OpenFile(j.segment(n), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create a decision log segment: %w", err)
	}
	return f, nil
}

// segments lists the numbers of the segments on disk, in order.
func (j *decisionJournal) segments() ([]int, error) {
	entries, err := os.ReadDir(filepath.Dir(j.base))
	if err != nil {
		return nil, fmt.Errorf("list the decision log: %w", err)
	}
	prefix := filepath.Base(j.base) + "."
	var out []int
	for _, e := range entries {
		if rest, ok := strings.CutPrefix(e.Name(), prefix); ok && e.Type().IsRegular() {
			if n, err := strconv.Atoi(rest); err == nil && n > 0 {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// readJournalSegment reads the records of one segment. A last line without
// its newline is a write the crash cut short: its caller never had an
// answer, so it is dropped.
func readJournalSegment(path string) ([]*DecisionRecord, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the decision log: %w", err)
	}
	var out []*DecisionRecord
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	complete := bytes.LastIndexByte(data, '\n') + 1
	read := 0
	for sc.Scan() {
		line := sc.Bytes()
		read += len(line) + 1
		if read > complete {
			break
		}
		rec := &DecisionRecord{}
		if err := json.Unmarshal(line, rec); err != nil || rec.ID == 0 {
			return nil, fmt.Errorf("decision log %s: a damaged record at byte %d (the file was changed or the disk "+
				"damaged it; move the file aside to start without its records)", path, read-len(line)-1)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// append writes the batch to the journal, giving each record its id, and
// queues it for the table. It returns once the write has returned. Only
// the leader of the group commit calls it.
func (j *decisionJournal) append(batch []*pendingRecord) error {
	if err := j.reserve(len(batch)); err != nil {
		return err
	}
	j.buf = j.buf[:0]
	for i, p := range batch {
		p.rec.ID = uint(j.nextID + int64(i))
		j.buf = appendJournalLine(j.buf, p.rec)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if backlog := len(j.pending) + len(j.inflight); backlog >= DecisionLogMaxBacklog {
		return fmt.Errorf("%w (%d; last error: %v)", errJournalBacklog, backlog, j.failure)
	}
	if j.file == nil {
		return errRecorderClosed
	}
	if _, err := j.file.Write(j.buf); err != nil {
		// Cut a partial write off (a full disk): the next batch must start
		// on a line of its own, and the denied batch must not be ingested.
		if terr := j.file.Truncate(j.size); terr != nil {
			j.store.log.Error("decision log: cutting off a failed append", slog.Any("error", terr))
		}
		return fmt.Errorf("append to the decision log: %w", err)
	}
	j.size += int64(len(j.buf))
	j.nextID += int64(len(batch))
	for _, p := range batch {
		j.pending = append(j.pending, p.rec)
	}
	j.appended += uint64(len(batch))
	if len(j.pending) >= journalIngestBatch {
		select {
		case j.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

// appendJournalLine appends rec as one line of JSON, the encoding of
// encoding/json (readJournalSegment decodes it with json.Unmarshal), written
// by hand: it is on every decision's path.
func appendJournalLine(b []byte, rec *DecisionRecord) []byte {
	b = append(b, `{"ID":`...)
	b = strconv.AppendUint(b, uint64(rec.ID), 10)
	b = append(b, `,"At":"`...)
	b = rec.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	b = appendJournalID(b, "TeamID", rec.TeamID)
	b = appendJournalID(b, "ClientID", rec.ClientID)
	b = appendJournalString(b, "Subject", rec.Subject)
	b = appendJournalString(b, "OnBehalfOf", rec.OnBehalfOf)
	b = appendJournalID(b, "ServerID", rec.ServerID)
	b = appendJournalID(b, "ToolID", rec.ToolID)
	b = appendJournalString(b, "Resource", rec.Resource)
	b = appendJournalString(b, "Outcome", string(rec.Outcome))
	b = appendJournalString(b, "Reason", rec.Reason)
	b = appendJournalString(b, "Risk", string(rec.Risk))
	b = appendJournalID(b, "RuleID", rec.RuleID)
	b = appendJournalID(b, "RequestID", rec.RequestID)
	b = appendJournalID(b, "GrantID", rec.GrantID)
	b = appendJournalString(b, "TaskID", rec.TaskID)
	b = append(b, `,"LatencyMicros":`...)
	b = strconv.AppendInt(b, rec.LatencyMicros, 10)
	return append(b, "}\n"...)
}

// appendJournalID appends ,"name":id (or null).
func appendJournalID(b []byte, name string, id *uint) []byte {
	b = append(append(append(b, `,"`...), name...), `":`...)
	if id == nil {
		return append(b, "null"...)
	}
	return strconv.AppendUint(b, uint64(*id), 10)
}

// appendJournalString appends ,"name":"s" with JSON escapes.
func appendJournalString(b []byte, name, s string) []byte {
	b = append(append(append(b, `,"`...), name...), `":"`...)
	const hex = "0123456789abcdef"
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	return append(append(b, s[start:]...), '"')
}

// reserve makes sure the id block holds n more ids, reserving the next
// block in sqlite_sequence when it does not: its end becomes the table's
// AUTOINCREMENT high-water mark, so no row numbered by the table takes
// an id of the block.
func (j *decisionJournal) reserve(n int) error {
	if j.nextID != 0 && j.nextID+int64(n)-1 <= j.lastID {
		return nil
	}
	size := int64(max(n, decisionIDBlock))
	ctx := context.Background()
	tx, err := j.store.SQLDB().BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("reserve decision ids: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var high int64
	if err := tx.QueryRowContext(ctx, `SELECT max(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'decisions'), 0),
		COALESCE((SELECT max(id) FROM decisions), 0))`).Scan(&high); err != nil {
		return fmt.Errorf("reserve decision ids: %w", err)
	}
	res, err := tx.ExecContext(ctx, "UPDATE sqlite_sequence SET seq = ? WHERE name = 'decisions'", high+size)
	if err != nil {
		return fmt.Errorf("reserve decision ids: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO sqlite_sequence (name, seq) VALUES ('decisions', ?)", high+size); err != nil {
			return fmt.Errorf("reserve decision ids: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("reserve decision ids: %w", err)
	}
	j.nextID, j.lastID = high+1, high+size
	return nil
}

// ingestLoop moves the journal into the table every journalIngestEvery,
// or sooner when many records wait, until stop.
func (j *decisionJournal) ingestLoop() {
	defer j.done.Done()
	tick := time.NewTicker(journalIngestEvery)
	defer tick.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-tick.C:
		case <-j.wake:
		}
		if j.held.Load() {
			continue
		}
		if err := j.ingest(); err != nil {
			j.store.log.Error("decision log: moving records into the database failed; retrying", slog.Any("error", err))
		}
	}
}

// ingest writes what waits into the table: first records taken earlier
// and not yet written (a failed round, or a previous run's), else the
// pending records, after closing their segment (new appends go to the
// next). The segments are removed once their records are committed.
func (j *decisionJournal) ingest() error {
	if len(j.inflight) == 0 {
		j.mu.Lock()
		if len(j.pending) == 0 || j.file == nil {
			j.mu.Unlock()
			return nil
		}
		next, err := j.create(j.seq + 1)
		if err != nil {
			j.mu.Unlock()
			return err
		}
		old := j.file
		j.inflight, j.inflightFiles = j.pending, []string{j.segment(j.seq)}
		j.pending, j.file, j.size = nil, next, 0
		j.seq++
		j.mu.Unlock()
		if err := old.Close(); err != nil {
			j.store.log.Warn("decision log: closing a segment", slog.Any("error", err))
		}
	}
	err := j.insert(j.inflight)
	j.mu.Lock()
	j.failure = err
	if err == nil {
		j.ingested += uint64(len(j.inflight))
		close(j.progress)
		j.progress = make(chan struct{})
	}
	j.mu.Unlock()
	if err != nil {
		return err
	}
	for _, path := range j.inflightFiles {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.store.log.Warn("decision log: removing an ingested segment", slog.Any("error", err))
		}
	}
	j.mu.Lock()
	j.inflight, j.inflightFiles = nil, nil
	j.mu.Unlock()
	return nil
}

// insert writes recs into the table in one transaction, in compiled
// multi-row INSERT OR IGNOREs of up to journalChunk rows (rows already
// there, by id, are left as they are). It talks to the driver's
// connection directly: database/sql's conversion of the 1,088 arguments of
// a chunk was a third of the cost.
func (j *decisionJournal) insert(recs []*DecisionRecord) error {
	ctx := context.Background()
	conn, err := j.store.SQLDB().Conn(ctx)
	if err != nil {
		return fmt.Errorf("ingest %d decision record(s): %w", len(recs), err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error { return j.insertOn(ctx, dc, recs) })
	if err != nil {
		return fmt.Errorf("ingest %d decision record(s): %w", len(recs), err)
	}
	return nil
}

// rawDriverConn is what insertOn needs of the SQLite driver's connection.
type rawDriverConn interface {
	driver.ConnPrepareContext
	driver.ConnBeginTx
}

func (j *decisionJournal) insertOn(ctx context.Context, dc any, recs []*DecisionRecord) error {
	conn, ok := dc.(rawDriverConn)
	if !ok {
		return fmt.Errorf("the SQLite driver's connection (%T) cannot prepare statements", dc)
	}
	if dc != j.rawConn { // a new connection: statements belong to theirs
		for _, stmt := range j.inserts {
			_ = stmt.Close()
		}
		j.inserts, j.rawConn = map[int]driver.Stmt{}, dc
	}
	tx, err := conn.BeginTx(ctx, driver.TxOptions{})
	if err != nil {
		return err
	}
	args := make([]driver.NamedValue, 0, journalChunk*17)
	for len(recs) > 0 {
		chunk := recs[:min(len(recs), journalChunk)]
		recs = recs[len(chunk):]
		stmt, err := j.insertOf(ctx, conn, len(chunk))
		if err != nil {
			_ = tx.Rollback()
			return err
		}
		args = args[:0]
		for _, rec := range chunk {
			args = appendRecordValues(args, rec)
		}
		if _, err := stmt.ExecContext(ctx, args); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	return tx.Commit()
}

// appendRecordValues appends the id and the columns of rec (recordArgs,
// in the order of decisionColumns) as driver values, numbered on from
// len(args).
func appendRecordValues(args []driver.NamedValue, rec *DecisionRecord) []driver.NamedValue {
	args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: int64(rec.ID)})
	for _, v := range recordArgs(rec) {
		if id, ok := v.(*uint); ok { // the nullable references
			v = nil
			if id != nil {
				v = int64(*id)
			}
		}
		args = append(args, driver.NamedValue{Ordinal: len(args) + 1, Value: v})
	}
	return args
}

// insertOf returns the compiled INSERT of n rows with their ids, prepared
// on conn the first time.
func (j *decisionJournal) insertOf(ctx context.Context, conn rawDriverConn, n int) (driver.StmtExecContext, error) {
	if stmt := j.inserts[n]; stmt != nil {
		return stmt.(driver.StmtExecContext), nil
	}
	ds, err := conn.PrepareContext(ctx, "INSERT OR IGNORE INTO decisions (id, "+decisionColumns+") VALUES "+valueRows(n, 17, false))
	if err != nil {
		return nil, err
	}
	stmt, ok := ds.(driver.StmtExecContext)
	if !ok {
		_ = ds.Close()
		return nil, fmt.Errorf("the SQLite driver's statement (%T) has no ExecContext", ds)
	}
	j.inserts[n] = ds
	return stmt, nil
}

// closeStatements finalises the compiled INSERTs, on their connection.
func (j *decisionJournal) closeStatements() {
	if len(j.inserts) == 0 {
		return
	}
	ctx := context.Background()
	conn, err := j.store.SQLDB().Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	_ = conn.Raw(func(dc any) error {
		if dc == j.rawConn {
			for _, stmt := range j.inserts {
				_ = stmt.Close()
			}
		}
		j.inserts = map[int]driver.Stmt{}
		return nil
	})
}

// DecisionLogBacklog is the number of decision records answered and in the
// decision log but not yet in the table (0 without a log).
func (s *Store) DecisionLogBacklog() int {
	if j := s.decisions.journal; j != nil {
		return j.backlog()
	}
	return 0
}

// backlog counts the records not yet in the table.
func (j *decisionJournal) backlog() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending) + len(j.inflight)
}

// flush waits until every record appended before the call is in the
// table, so that a read of the decisions sees this process's own.
func (j *decisionJournal) flush(ctx context.Context) error {
	j.mu.Lock()
	target := j.appended
	j.mu.Unlock()
	select {
	case j.wake <- struct{}{}:
	default:
	}
	for {
		j.mu.Lock()
		ingested, progress, failure := j.ingested, j.progress, j.failure
		j.mu.Unlock()
		if ingested >= target {
			return nil
		}
		if failure != nil {
			return fmt.Errorf("decision log: %w", failure)
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// close stops the ingester, writes what is left into the table, and
// releases the journal. Records the table refuses stay in their segments
// for the next start. The group commit has stopped when it is called.
func (j *decisionJournal) close() { j.closed.Do(j.closeOnce) }

func (j *decisionJournal) closeOnce() {
	close(j.stop)
	j.done.Wait()
	// No more appends (the group commit has stopped): one round writes
	// what a failed round left, the next what is pending.
	for j.backlog() > 0 {
		if err := j.ingest(); err != nil {
			j.store.log.Error("decision log: records left for the next start", slog.Any("error", err))
			break
		}
	}
	j.mu.Lock()
	f := j.file
	j.file = nil
	empty := len(j.pending) == 0 && len(j.inflight) == 0
	j.mu.Unlock()
	if f != nil {
		_ = f.Close()
		if empty {
			_ = os.Remove(f.Name())
		}
	}
	j.closeStatements()
	j.release()
}

// release unlocks the journal.
func (j *decisionJournal) release() {
	if j.lock != nil {
		_ = j.lock.Close() // closing the file drops its lock
	}
}

// Command decision drives the decision-endpoint benchmark (bench/decision.sh).
//
//	decision setup --database DB
//	    creates an API client in the team of a scale server and prints
//	    "client_id client_secret resource" for a low-risk tool (an allow).
//	decision rate --url URL --token T --resource R --rate 1000 --duration 20s
//	    sends evaluations at a constant rate (open loop: latency is measured
//	    from each request's scheduled time, so a slow server cannot hide its
//	    queueing) and prints the latency percentiles.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/countersign/countersign/models"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: decision setup|rate [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "setup":
		err = setup(os.Args[2:])
	case "rate":
		err = rate(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "decision:", err)
		os.Exit(1)
	}
}

func setup(args []string) error {
	fs := flag.NewFlagSet("setup", flag.ExitOnError)
	dsn := fs.String("database", "", "database of the scale seed")
	fs.Parse(args)
	ctx := context.Background()
	store, err := models.Open(ctx, models.Options{DSN: *dsn})
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Migrate(ctx); err != nil {
		return err
	}
	// Work off the backlog of due rotations a fresh scale seed has (the
	// server's per-minute rotation check would otherwise spend the first
	// minutes of the run on it, holding the SQLite writer batch by batch):
	// the benchmark measures the decision path in a steady state.
	for {
		start := time.Now()
		res, err := store.RunRotationDueCheck(ctx)
		if err != nil {
			return err
		}
		if res.Due == 0 && res.Overdue == 0 {
			break
		}
		fmt.Fprintf(os.Stderr, "rotation backlog: %d due, %d overdue in %v\n", res.Due, res.Overdue, time.Since(start).Round(time.Millisecond))
	}
	// The notifications of that backlog too (the per-minute outbox job
	// would deliver them 200 at a time during the run).
	for {
		res, err := store.DeliverOutbox(ctx, models.NewHTTPPoster(), 1000)
		if err != nil {
			return err
		}
		if res.Sent+res.Retried+res.Failed == 0 {
			break
		}
		fmt.Fprintf(os.Stderr, "outbox backlog: %d sent, %d retried, %d failed\n", res.Sent, res.Retried, res.Failed)
	}
	// A read-only, closed-world tool of a server in the middle of the
	// table: low risk, so the default allows it.
	var row struct {
		Slug   string
		TeamID uint
	}
	err = store.RawForTest(ctx).Table("servers").Select("servers.slug, servers.team_id").
		Joins("JOIN tools ON tools.server_id = servers.id AND tools.name = 'tool_0'").
		Where("servers.status <> ?", models.ServerRetired).Order("servers.id").Offset(5000).Limit(1).Scan(&row).Error
	if err != nil || row.Slug == "" {
		return fmt.Errorf("no scale server with tool_0 (run seed scale first): %v", err)
	}
	c, secret, err := store.CreateAPIClient(ctx, models.SystemActor("bench"), models.APIClientInput{
		Name: fmt.Sprintf("bench %d", time.Now().UnixNano()), TeamID: row.TeamID, Scopes: []string{models.ScopeEvaluate}})
	if err != nil {
		return err
	}
	fmt.Println(c.ClientID, secret, row.Slug+"/tool_0")
	return nil
}

func rate(args []string) error {
	fs := flag.NewFlagSet("rate", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:18080/access/v1/evaluation", "decision endpoint")
	token := fs.String("token", "", "bearer token")
	resource := fs.String("resource", "", "server-slug/tool")
	perSecond := fs.Int("rate", 1000, "requests per second")
	duration := fs.Duration("duration", 20*time.Second, "how long to send")
	workers := fs.Int("workers", 64, "concurrent senders (bounds in-flight requests)")
	fs.Parse(args)
	body := []byte(fmt.Sprintf(`{"subject":{"type":"agent","id":"bench-agent"},"action":{"name":"tools/call"},`+
		`"resource":{"type":"mcp_tool","id":%q},"context":{"arguments":{"q":"status"}}}`, *resource))
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *workers, MaxConnsPerHost: *workers}}
	total := int(duration.Seconds() * float64(*perSecond))
	interval := time.Second / time.Duration(*perSecond)
	slots := make(chan time.Time, total)
	var mu sync.Mutex
	latencies := make([]time.Duration, 0, total)
	var failures int
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for scheduled := range slots {
				ok := send(client, *url, *token, body)
				d := time.Since(scheduled)
				mu.Lock()
				latencies = append(latencies, d)
				if !ok {
					failures++
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	for i := range total {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		// Stamped when dispatched, not at the planned instant: a late
		// wake-up of this loop (timer slack, up to ~1 ms here) is the
		// harness's delay, not the server's. Waiting for a free worker
		// still counts (the channel queues the slot), so a slow server is
		// not hidden (no coordinated omission).
		slots <- time.Now()
	}
	close(slots)
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
	fmt.Printf("sent=%d failures=%d achieved_rps=%.0f p50=%s p90=%s p99=%s p99.9=%s max=%s\n", len(latencies), failures,
		float64(len(latencies))/elapsed.Seconds(), pct(0.50), pct(0.90), pct(0.99), pct(0.999), latencies[len(latencies)-1])
	return nil
}

// send posts one evaluation; ok means a 200 whose decision is an allow.
func send(client *http.Client, url, token string, body []byte) bool {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == http.StatusOK && bytes.Contains(b, []byte(`"decision":true`))
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/countersign/countersign/models"
)

func cmdSeed(ctx context.Context, args []string, env envSource, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "scale" {
		return cmdSeedScale(ctx, args[1:], env, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "demo" {
		return fmt.Errorf("%w: countersign seed demo [--history DAYS] | countersign seed scale --servers N --credentials M --reviews R --audit A", errUsage)
	}
	var cfg commonConfig
	var history int
	fs := flag.NewFlagSet("seed demo", flag.ContinueOnError)
	cfg.register(fs)
	fs.IntVar(&history, "history", 0, "also back-fill this many days of review requests, decisions and daily compliance snapshots")
	validate := func() []string {
		p := cfg.validate()
		if history < 0 || history > 400 {
			p = append(p, "--history must be between 0 and 400 days")
		}
		return p
	}
	if err := parseFlags(fs, args[1:], env, validate); err != nil {
		return err
	}
	store, err := cfg.openStore(ctx, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	sum, err := store.SeedDemo(ctx, "demo-"+models.RandomToken(12))
	if err != nil {
		return err
	}
	if sum.Skipped {
		fmt.Fprintln(stdout, "demo teams and people are already present")
	} else {
		fmt.Fprintf(stdout, "created %d teams and %d demo users:\n", sum.Teams, len(sum.Users))
		for _, u := range sum.Users {
			fmt.Fprintln(stdout, "  ", u)
		}
		fmt.Fprintf(stdout, "demo users' password (shown once): %s\n", sum.Password)
	}
	inv, err := store.SeedDemoInventory(ctx)
	if err != nil {
		return err
	}
	if inv.Skipped {
		fmt.Fprintln(stdout, "demo inventory is already present; nothing changed")
	} else {
		fmt.Fprintf(stdout, "created %d servers, %d tools, %d key policy entries and %d credentials; %d findings are open\n",
			inv.Servers, inv.Tools, inv.Policies, inv.Credentials, inv.Findings)
	}
	if history == 0 {
		return nil
	}
	hist, err := store.SeedHistory(ctx, history, uint64(time.Now().UnixNano()))
	if err != nil {
		return err
	}
	if hist.Skipped {
		fmt.Fprintln(stdout, "demo history is already present; nothing changed")
		return nil
	}
	fmt.Fprintf(stdout, "back-filled %d days: %d review requests, %d decisions, %d rotations, %d compliance snapshots (past inventory figures are generated; review and rotation figures are computed)\n",
		hist.Days, hist.Reviews, hist.Decisions, hist.Rotations, hist.Snapshots)
	// The back-filled rotations change due dates: findings follow at once,
	// not at the next scheduled recompute.
	if _, err := store.RecomputeFindings(ctx); err != nil {
		return fmt.Errorf("recompute findings after the history: %w", err)
	}
	return nil
}

func cmdSeedScale(ctx context.Context, args []string, env envSource, stdout, stderr io.Writer) error {
	var cfg commonConfig
	var o models.ScaleOptions
	fs := flag.NewFlagSet("seed scale", flag.ContinueOnError)
	cfg.register(fs)
	fs.IntVar(&o.Servers, "servers", 1000, "number of MCP servers to generate")
	fs.IntVar(&o.Credentials, "credentials", 10000, "number of credentials to generate")
	fs.IntVar(&o.Audit, "audit", 0, "number of extra audit events to append to the chain")
	fs.IntVar(&o.Reviews, "reviews", 0, "number of step-up review requests (with decisions) over the last 365 days")
	var seed int64
	fs.Int64Var(&seed, "seed", 1, "random seed (same seed, same data)")
	validate := func() []string {
		var p []string
		if o.Servers < 0 || o.Credentials < 0 || o.Audit < 0 || o.Reviews < 0 {
			p = append(p, "--servers, --credentials, --reviews and --audit must not be negative")
		}
		if o.Credentials > 0 && o.Servers == 0 {
			p = append(p, "--credentials needs --servers > 0")
		}
		return append(cfg.validate(), p...)
	}
	if err := parseFlags(fs, args, env, validate); err != nil {
		return err
	}
	o.Seed = uint64(seed)
	store, err := cfg.openStore(ctx, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	last := ""
	o.Progress = func(step string, done, total int) {
		if step != last || done == total {
			fmt.Fprintf(stdout, "  %s: %d/%d\n", step, done, total)
			last = step
		}
	}
	sum, err := store.SeedScale(ctx, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generated %d servers, %d tools, %d credentials, %d review requests, %d audit events (%d new teams, %d owners); %d findings open; took %s\n",
		sum.Servers, sum.Tools, sum.Credentials, sum.Reviews, sum.Audit, sum.Teams, sum.Users, sum.Findings, sum.Took.Round(time.Millisecond))
	return nil
}

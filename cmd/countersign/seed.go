package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/countersign/countersign/models"
)

func cmdSeed(ctx context.Context, args []string, env envSource, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "demo" {
		return fmt.Errorf("%w: countersign seed demo", errUsage)
	}
	var cfg commonConfig
	fs := flag.NewFlagSet("seed demo", flag.ContinueOnError)
	cfg.register(fs)
	if err := parseFlags(fs, args[1:], env, cfg.validate); err != nil {
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
		return nil
	}
	fmt.Fprintf(stdout, "created %d servers, %d tools, %d key policy entries and %d credentials; %d findings are open\n",
		inv.Servers, inv.Tools, inv.Policies, inv.Credentials, inv.Findings)
	return nil
}

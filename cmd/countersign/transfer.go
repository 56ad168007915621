package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/countersign/countersign/models"
)

// cmdExport writes the whole inventory to a JSON file (no secrets).
func cmdExport(ctx context.Context, args []string, env envSource, stdout, stderr io.Writer) error {
	var cfg commonConfig
	var out string
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	cfg.register(fs)
	fs.StringVar(&out, "out", "", "file to write the inventory to (JSON); - for standard output")
	if err := parseFlags(fs, args, env, func() []string {
		if out == "" {
			return append(cfg.validate(), "--out is required: the file to write")
		}
		return cfg.validate()
	}); err != nil {
		return err
	}
	store, err := cfg.openStore(ctx, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	doc, err := store.ExportInventory(ctx)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if out == "-" {
		_, err = stdout.Write(data)
		return err
	}
	// Write to a temporary file and rename, so a failed export never leaves
	// half a file behind.
	tmp, err := os.CreateTemp(filepath.Dir(out), ".countersign-export-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", out, err)
	}
	fmt.Fprintf(stdout, "exported %d servers, %d tools, %d key policy entries, %d credentials, %d findings and %d exceptions to %s\n",
		len(doc.Servers), len(doc.Tools), len(doc.KeyPolicies), len(doc.Credentials), len(doc.Findings), len(doc.Exceptions), out)
	return nil
}

// cmdImport merges an exported inventory into the database.
func cmdImport(ctx context.Context, args []string, env envSource, stdout, stderr io.Writer) error {
	var cfg commonConfig
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	cfg.register(fs)
	var file string
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		file, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args, env, func() []string {
		if file == "" {
			return append(cfg.validate(), "give the file to import: countersign import FILE")
		}
		return cfg.validate()
	}); err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	var doc models.InventoryDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s is not a Countersign inventory export: %w", file, err)
	}
	store, err := cfg.openStore(ctx, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	sum, err := store.ImportInventory(ctx, models.SystemActor("import "+filepath.Base(file)), doc)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%-14s %8s %8s %10s\n", "", "created", "updated", "unchanged")
	for _, k := range sum.Kinds() {
		c := sum.Counts[k]
		fmt.Fprintf(stdout, "%-14s %8d %8d %10d\n", k, c.Created, c.Updated, c.Unchanged)
	}
	for _, w := range sum.Warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	if !sum.Changed() {
		fmt.Fprintln(stdout, "nothing changed: the inventory was already up to date")
	}
	return nil
}

package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/countersign/countersign/models"
)

func cmdUsers(ctx context.Context, args []string, env envSource, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return fmt.Errorf("%w: countersign users create --email E --name N --role R [--team SLUG] --password-stdin", errUsage)
	}
	var cfg commonConfig
	var email, name, role, team string
	var passwordStdin bool
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	cfg.register(fs)
	fs.StringVar(&email, "email", "", "email address (sign-in name)")
	fs.StringVar(&name, "name", "", "display name")
	fs.StringVar(&role, "role", "", "role: admin, governance, approver, manager or auditor")
	fs.StringVar(&team, "team", "", "team slug (required for governance, approver, manager)")
	fs.BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	if err := parseFlags(fs, args[1:], env, cfg.validate, func() []string {
		var p []string
		if !passwordStdin {
			p = append(p, "--password-stdin is required: the password is read from standard input, never from a flag")
		}
		if email == "" || name == "" {
			p = append(p, "--email and --name are required")
		}
		if role != "" {
			if _, ok := models.ParseRole(role); !ok {
				p = append(p, fmt.Sprintf("--role %q: use admin, governance, approver, manager or auditor", role))
			}
		}
		return p
	}); err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read password from standard input: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	store, err := cfg.openStore(ctx, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	var teamID uint
	if team != "" {
		t, err := store.TeamBySlug(ctx, team)
		if err != nil {
			return fmt.Errorf("--team %q: no such team (create it in the admin pages first)", team)
		}
		teamID = t.ID
	}
	u, err := store.CreateUser(ctx, models.SystemActor("cli"), models.NewUser{Email: email, Name: name,
		Password: password, Role: models.Role(role), TeamID: teamID})
	if v, ok := models.AsValidation(err); ok {
		for field, msg := range v.Fields {
			fmt.Fprintf(stderr, "countersign: %s: %s\n", field, msg)
		}
		return exitError{code: 1}
	}
	if err != nil {
		return err
	}
	scope := "no role"
	if role != "" {
		scope = "role " + role
		if team == "" {
			scope += " (org-wide)"
		} else {
			scope += " in team " + team
		}
	}
	fmt.Fprintf(stdout, "created user %s (id %d) with %s\n", u.Email, u.ID, scope)
	return nil
}

func cmdAudit(ctx context.Context, args []string, env envSource, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" {
		return fmt.Errorf("%w: countersign audit verify", errUsage)
	}
	var cfg commonConfig
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	cfg.register(fs)
	if err := parseFlags(fs, args[1:], env, cfg.validate); err != nil {
		return err
	}
	store, err := cfg.openStore(ctx, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := store.VerifyAudit(ctx)
	if err != nil {
		return err
	}
	if !res.OK {
		fmt.Fprintf(stdout, "audit chain BROKEN at event %d: %s (%d events before it verified)\n", res.FirstBad, res.Problem, res.Events)
		return exitError{code: 1}
	}
	fmt.Fprintf(stdout, "audit chain intact: %d events, head %s\n", res.Events, res.HeadHash)
	return nil
}

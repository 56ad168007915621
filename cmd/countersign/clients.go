package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/countersign/countersign/models"
)

const clientsUsage = "countersign clients create --name N --team SLUG --scope access:evaluate [--webhook URL] | clients rotate --client-id ID | clients revoke --client-id ID"

// cmdClients manages API clients: create prints the client id and secret
// once; rotate prints a new secret once; revoke ends the client and its
// tokens at once.
func cmdClients(ctx context.Context, args []string, env envSource, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: %s", errUsage, clientsUsage)
	}
	var cfg commonConfig
	var name, team, scope, webhook, clientID string
	fs := flag.NewFlagSet("clients "+args[0], flag.ContinueOnError)
	cfg.register(fs)
	var check func() []string
	switch args[0] {
	case "create":
		fs.StringVar(&name, "name", "", "name of the client (e.g. the gateway)")
		fs.StringVar(&team, "team", "", "slug of the team whose servers the client may ask about")
		fs.StringVar(&scope, "scope", models.ScopeEvaluate, "scopes, separated by commas or spaces")
		fs.StringVar(&webhook, "webhook", "", "URL notified when a review of this client is decided (optional)")
		check = func() []string {
			if name == "" || team == "" {
				return []string{"--name and --team are required"}
			}
			return nil
		}
	case "rotate", "revoke":
		fs.StringVar(&clientID, "client-id", "", "the client id printed by clients create")
		check = func() []string {
			if clientID == "" {
				return []string{"--client-id is required"}
			}
			return nil
		}
	default:
		return fmt.Errorf("%w: %s", errUsage, clientsUsage)
	}
	if err := parseFlags(fs, args[1:], env, cfg.validate, check); err != nil {
		return err
	}
	store, err := cfg.openStore(ctx, cfg.logger(stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	actor := models.SystemActor("cli")
	switch args[0] {
	case "create":
		t, err := store.TeamBySlug(ctx, team)
		if err != nil {
			return fmt.Errorf("--team %q: no such team", team)
		}
		c, secret, err := store.CreateAPIClient(ctx, actor, models.APIClientInput{Name: name, TeamID: t.ID,
			Scopes: strings.Fields(strings.ReplaceAll(scope, ",", " ")), WebhookURL: webhook})
		if v, ok := models.AsValidation(err); ok {
			for field, msg := range v.Fields {
				fmt.Fprintf(stderr, "countersign: %s: %s\n", field, msg)
			}
			return exitError{code: 1}
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created API client %q in team %s with scope %s\n", c.Name, team, strings.ReplaceAll(c.Scopes, ",", " "))
		fmt.Fprintf(stdout, "client_id:     %s\nclient_secret: %s\n", c.ClientID, secret)
		fmt.Fprintln(stdout, "The secret is shown only now; store it in your gateway's secret store.")
		return nil
	case "rotate":
		c, err := store.APIClientByClientID(ctx, clientID)
		if err != nil {
			return fmt.Errorf("--client-id %q: no such client", clientID)
		}
		_, secret, err := store.RotateAPIClientSecret(ctx, actor, c.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id:     %s\nclient_secret: %s\n", c.ClientID, secret)
		fmt.Fprintln(stdout, "The new secret is shown only now; tokens already issued expire within minutes.")
		return nil
	default:
		c, err := store.APIClientByClientID(ctx, clientID)
		if err != nil {
			return fmt.Errorf("--client-id %q: no such client", clientID)
		}
		if err := store.RevokeAPIClient(ctx, actor, c.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "revoked API client %s and its tokens\n", c.ClientID)
		return nil
	}
}

package web_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/models/modeltest"
)

// On a server's page each entry of its own key policy says in one word how
// it compares with the environment's default of its key type, and never
// both "tighter" and "looser". The server's entries are written before the
// defaults (or the defaults changed since), as after an import.
func TestKeyPolicyBadgesAgreeWithEachOther(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	env := f.server.EnvironmentID
	add := func(create func(context.Context, models.Actor, uint, models.AllowedKeyTypeInput) (models.AllowedKeyType, error), owner uint, k models.KeyType, days int) {
		t.Helper()
		if _, err := create(ctx, modeltest.Admin, owner, models.AllowedKeyTypeInput{KeyType: k, MaxLifetimeDays: days,
			Rationale: "Written for the badge test."}); err != nil {
			t.Fatal(err)
		}
	}
	add(f.store.CreateServerKeyType, f.server.ID, models.KeyScopedAPIKey, 60)
	add(f.store.CreateServerKeyType, f.server.ID, models.KeyWorkloadIdentity, 30)
	add(f.store.CreateServerKeyType, f.server.ID, models.KeyShortLivedToken, 1)
	add(f.store.CreateServerKeyType, f.server.ID, models.KeyStaticAPIKey, 0)
	add(f.store.CreateEnvironmentKeyType, env, models.KeyScopedAPIKey, 30)
	add(f.store.CreateEnvironmentKeyType, env, models.KeyWorkloadIdentity, 0)
	add(f.store.CreateEnvironmentKeyType, env, models.KeyShortLivedToken, 1)
	add(f.store.CreateEnvironmentKeyType, env, models.KeyMTLSCertificate, 365)

	page := parse(t, f.do(http.MethodGet, fmt.Sprintf("/servers/%d", f.server.ID), f.session(f.users["governance"]), nil))
	for keyType, want := range map[string]string{
		"scoped_api_key":    "looser than the prod default",
		"workload_identity": "tighter than the prod default",
		"short_lived_token": "same limit as the prod default",
		"static_api_key":    "not allowed in prod",
		"mtls_certificate":  "not inherited",
	} {
		row := page.Find(`[data-testid=key-policy] tr[data-key-type=` + keyType + `]`)
		source := strings.Join(strings.Fields(row.Find(`[data-testid=key-policy-row-source]`).Text()), " ")
		if !strings.Contains(source, want) {
			t.Errorf("%s: source %q, want %q", keyType, source, want)
		}
		if strings.Contains(source, "tight") && strings.Contains(source, "loose") {
			t.Errorf("%s: source contradicts itself: %q", keyType, source)
		}
		if n := row.Find(`[data-testid=key-policy-row-source] .badge`).Length(); n != 1 {
			t.Errorf("%s: %d badges, want one", keyType, n)
		}
	}
	if got := page.Find(`tr[data-key-type=scoped_api_key]`).Text(); !strings.Contains(got, "at most 30 days: shorten this entry") {
		t.Errorf("looser entry does not say what to do: %q", strings.Join(strings.Fields(got), " "))
	}
}

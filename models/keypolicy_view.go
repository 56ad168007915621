package models

import (
	"context"
	"fmt"
)

// KeyPolicyRow is one line of a server's key policy as the server page shows
// it: an entry and how it relates to the environment's defaults.
type KeyPolicyRow struct {
	AllowedKeyType
	// Applies is true for the entries that make up the effective policy.
	Applies bool
	// Inherited: an environment default that applies because the server
	// has no entries of its own.
	Inherited bool
	// Overridden: a server entry that replaces an environment default of the
	// same key type (tightening it); EnvDefault is that default.
	Overridden bool
	EnvDefault *AllowedKeyType
	// NotInherited: an environment default that does not apply because the
	// server's own policy replaces the defaults and does not list it.
	NotInherited bool
	// Problem explains a server entry that allows more than its environment
	// now does (the defaults changed after the entry was written).
	Problem string
}

// KeyPolicyView is a server's key policy with where each entry comes from.
type KeyPolicyView struct {
	EnvironmentName string
	// Inherited is true when the server has no entries of its own and uses
	// the environment's defaults.
	Inherited bool
	// HasDefaults reports whether the environment has defaults at all.
	HasDefaults bool
	// Rows lists the entries that apply first, then the defaults that do not.
	Rows []KeyPolicyRow
}

// Effective returns the rows that apply.
func (v KeyPolicyView) Effective() []KeyPolicyRow {
	var out []KeyPolicyRow
	for _, r := range v.Rows {
		if r.Applies {
			out = append(out, r)
		}
	}
	return out
}

// BuildKeyPolicyView explains the key policy of srv from its own and its
// environment's entries (as KeyPolicyEntries returns them). envName names
// the environment in messages.
func BuildKeyPolicyView(srv Server, entries []AllowedKeyType, envName string) KeyPolicyView {
	var own, defaults []AllowedKeyType
	for _, e := range entries {
		switch {
		case e.ServerID != nil && *e.ServerID == srv.ID:
			own = append(own, e)
		case e.ServerID == nil && e.EnvironmentID != nil && *e.EnvironmentID == srv.EnvironmentID:
			defaults = append(defaults, e)
		}
	}
	view := KeyPolicyView{EnvironmentName: envName, Inherited: len(own) == 0, HasDefaults: len(defaults) > 0}
	if view.Inherited {
		for _, d := range defaults {
			view.Rows = append(view.Rows, KeyPolicyRow{AllowedKeyType: d, Applies: true, Inherited: true})
		}
		return view
	}
	byType := map[KeyType]AllowedKeyType{}
	for _, d := range defaults {
		byType[d.KeyType] = d
	}
	listed := map[KeyType]bool{}
	for _, e := range own {
		row := KeyPolicyRow{AllowedKeyType: e, Applies: true}
		listed[e.KeyType] = true
		if d, ok := byType[e.KeyType]; ok {
			d := d
			row.Overridden, row.EnvDefault = true, &d
			row.Problem = LooserThan(e.MaxLifetimeDays, d.MaxLifetimeDays, envName)
		} else if len(defaults) > 0 {
			row.Problem = fmt.Sprintf("The %s environment no longer allows %s.", envName, e.KeyType.Label())
		}
		view.Rows = append(view.Rows, row)
	}
	for _, d := range defaults {
		if !listed[d.KeyType] {
			view.Rows = append(view.Rows, KeyPolicyRow{AllowedKeyType: d, NotInherited: true})
		}
	}
	return view
}

// KeyPolicyViewOf loads and explains the key policy of a server.
func (s *Store) KeyPolicyViewOf(ctx context.Context, srv Server) (KeyPolicyView, error) {
	entries, err := s.KeyPolicyEntries(ctx, srv)
	if err != nil {
		return KeyPolicyView{}, fmt.Errorf("key policy of server %d: %w", srv.ID, err)
	}
	name := srv.Environment.Name
	if name == "" {
		env, err := s.EnvironmentByID(ctx, srv.EnvironmentID)
		if err != nil {
			return KeyPolicyView{}, err
		}
		name = env.Name
	}
	return BuildKeyPolicyView(srv, entries, name), nil
}

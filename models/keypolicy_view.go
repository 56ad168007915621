package models

import (
	"context"
	"fmt"
)

// DefaultComparison says how a server's own entry compares with its
// environment's defaults. A server may only tighten them: use a key type the
// defaults list, with a max lifetime no longer than the default's (0, no
// limit, is the longest). Max lifetime is the only limit compared.
type DefaultComparison string

// How a server entry compares with its environment's defaults.
const (
	// NotCompared: an environment default, or a server entry in an
	// environment without defaults.
	NotCompared DefaultComparison = ""
	// Tighter: a shorter max lifetime than the default of its key type.
	Tighter DefaultComparison = "tighter"
	// SameLimit: the same max lifetime as the default of its key type.
	SameLimit DefaultComparison = "same"
	// Looser: a longer max lifetime than the default of its key type (the
	// default was shortened after the entry was written). A Problem: the
	// forms refuse such an entry.
	Looser DefaultComparison = "looser"
	// NotAllowed: the defaults do not list the key type. A Problem.
	NotAllowed DefaultComparison = "not-allowed"
)

// compareLifetime compares a server entry's max lifetime with its
// environment default's, 0 meaning no limit.
func compareLifetime(days, envDays int) DefaultComparison {
	if days == envDays {
		return SameLimit
	}
	if envDays == 0 || (days != 0 && days < envDays) {
		return Tighter
	}
	return Looser
}

// dayCount reads a number of days: "1 day", "30 days".
func dayCount(n int) string {
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

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
	// same key type; EnvDefault is that default, and Comparison says whether
	// the entry tightens it, keeps its limit, or is looser.
	Overridden bool
	EnvDefault *AllowedKeyType
	// Comparison is how a server entry compares with the defaults.
	Comparison DefaultComparison
	// NotInherited: an environment default that does not apply because the
	// server's own policy replaces the defaults and does not list it.
	NotInherited bool
	// Problem explains a server entry that allows more than its environment
	// now does (Comparison Looser or NotAllowed), and what to do.
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
			row.Comparison = compareLifetime(e.MaxLifetimeDays, d.MaxLifetimeDays)
			if row.Comparison == Looser {
				row.Problem = fmt.Sprintf("The %s environment allows this key type for at most %s: shorten this entry's max lifetime to match.",
					envName, dayCount(d.MaxLifetimeDays))
			}
		} else if len(defaults) > 0 {
			row.Comparison = NotAllowed
			row.Problem = fmt.Sprintf("The %s environment does not allow %s: remove this entry, or add the key type to the %s defaults.",
				envName, e.KeyType.Label(), envName)
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

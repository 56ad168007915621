package models

// EffectivePolicy is the key policy that applies to a server: its own
// entries when it has any (they may only tighten the environment's), or the
// environment's defaults, inherited.
type EffectivePolicy struct {
	Entries   []AllowedKeyType
	Inherited bool
}

// EffectiveKeyPolicy picks the entries that apply to the server from all
// policy entries.
func EffectiveKeyPolicy(server Server, policies []AllowedKeyType) EffectivePolicy {
	var own, env []AllowedKeyType
	for _, p := range policies {
		switch {
		case p.ServerID != nil && *p.ServerID == server.ID:
			own = append(own, p)
		case p.ServerID == nil && p.EnvironmentID != nil && *p.EnvironmentID == server.EnvironmentID:
			env = append(env, p)
		}
	}
	if len(own) > 0 {
		return EffectivePolicy{Entries: own}
	}
	return EffectivePolicy{Entries: env, Inherited: true}
}

// Allows returns the entry that allows the key type, if any.
func (p EffectivePolicy) Allows(k KeyType) (AllowedKeyType, bool) {
	for _, e := range p.Entries {
		if e.KeyType == k {
			return e, true
		}
	}
	return AllowedKeyType{}, false
}

// Documented reports whether any key type is documented for the server.
func (p EffectivePolicy) Documented() bool { return len(p.Entries) > 0 }

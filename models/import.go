package models

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ImportResult is what ApplyImport created.
type ImportResult struct {
	Servers     []Server
	Credentials []Credential
	// Renamed maps an entry's path in the file to the slug it was given
	// because its own slug was already taken.
	Renamed map[string]string
}

// keyTypeByKind guesses the key type of a found secret from its kind; the
// rest are taken for static API keys, the usual case in a config file.
var keyTypeByKind = map[string]KeyType{
	"GitHub fine-grained token": KeyScopedAPIKey, "Stripe restricted key": KeyScopedAPIKey,
	"GitHub OAuth token": KeyOAuthDelegated, "GitHub user token": KeyOAuthDelegated,
	"GitHub app token": KeyShortLivedToken, "AWS temporary access key id": KeyShortLivedToken,
}

// ImportSourceName cleans a file name for display and storage: no folders,
// no control characters, at most 100 characters; empty means a paste.
func ImportSourceName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name))
	if name == "" {
		return "pasted configuration"
	}
	return truncateRunes(name, 100)
}

// ApplyImport creates, in one transaction, what a preview of an MCP client
// configuration file lists: each server as a draft of the team and
// environment, and for each secret found one active credential record
// (fingerprint and last four only) attached to its server, with ExposedIn
// saying where the secret sits in plain text (CS-010). A slug already taken
// gets -2, -3… appended (reported in Renamed): an import never skips or
// overwrites a registered server. Applying the same preview twice is a
// conflict. Every creation is audited in the same transaction.
func (s *Store) ApplyImport(ctx context.Context, actor Actor, preview ImportPreview, teamID, envID uint, sourceName string) (ImportResult, error) {
	res := ImportResult{Renamed: map[string]string{}}
	sourceName = ImportSourceName(sourceName)
	if len(preview.Servers) == 0 {
		v := NewValidationError()
		v.Add("config", "The file lists no server to import.")
		return res, v
	}
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if preview.ID != "" {
			var n int64
			if err := tx.Model(&AuditEvent{}).Where("action = ? AND object_type = ? AND object_id = ?", "import.apply", "import", preview.ID).
				Count(&n).Error; err != nil {
				return fmt.Errorf("check import: %w", err)
			}
			if n > 0 {
				return fmt.Errorf("%w: this import was already applied", ErrConflict)
			}
		}
		for i, in := range preview.Servers {
			srv, err := s.importServer(tx, actor, i, in, teamID, envID, sourceName)
			if err != nil {
				return err
			}
			if srv.Slug != in.Slug {
				res.Renamed[in.Path] = srv.Slug
			}
			res.Servers = append(res.Servers, srv)
			for _, found := range in.Secrets {
				cred, err := s.importCredential(tx, actor, srv, in.Path, found, sourceName)
				if err != nil {
					return err
				}
				res.Credentials = append(res.Credentials, cred)
			}
		}
		slugs := make([]string, 0, len(res.Servers))
		for _, srv := range res.Servers {
			slugs = append(slugs, srv.Slug)
		}
		return s.appendAudit(tx, actor, AuditEntry{Action: "import.apply", ObjectType: "import", ObjectID: preview.ID,
			After: map[string]any{"source": sourceName, "format": preview.Format, "team": teamID, "environment": envID,
				"servers": slugs, "credentials": len(res.Credentials)}})
	})
	if err != nil {
		return ImportResult{}, err
	}
	return res, nil
}

// importServer creates one draft server under a free slug.
func (s *Store) importServer(tx *gorm.DB, actor Actor, i int, in ImportServer, teamID, envID uint, sourceName string) (Server, error) {
	if !ValidSlug(in.Slug) || len(in.Slug) > 60 {
		v := NewValidationError()
		v.Add(fmt.Sprintf("servers[%d].slug", i), "The import holds an invalid slug; upload the file again.")
		return Server{}, v
	}
	slug := in.Slug
	for n := 2; ; n++ {
		var count int64
		if err := tx.Model(&Server{}).Where("slug = ?", slug).Count(&count).Error; err != nil {
			return Server{}, fmt.Errorf("check slug: %w", err)
		}
		if count == 0 {
			break
		}
		slug = fmt.Sprintf("%s-%d", in.Slug, n)
	}
	input := ServerInput{Slug: slug, Name: in.Name, TeamID: teamID, EnvironmentID: envID, Transport: in.Transport,
		Endpoint: in.Endpoint, Hosting: HostingSelf, Status: ServerDraft,
		Description: truncateRunes(fmt.Sprintf("Imported from %s (%s).", sourceName, in.Path), 2000)}
	input.Normalize()
	srv, err := s.createServer(tx, actor, input)
	if v, ok := AsValidation(err); ok {
		out := NewValidationError()
		for field, msg := range v.Fields {
			if field == "team" || field == "environment" {
				out.Add(field, msg)
			} else {
				out.Add(fmt.Sprintf("servers[%d].%s", i, field), in.Path+": "+msg)
			}
		}
		return srv, out
	}
	return srv, err
}

// importCredential records one found secret as a credential of srv.
func (s *Store) importCredential(tx *gorm.DB, actor Actor, srv Server, path string, found FoundSecret, sourceName string) (Credential, error) {
	if len(found.Fingerprint) != 64 || len(found.Last4) > 4 {
		return Credential{}, fmt.Errorf("%w: the import holds a malformed fingerprint", ErrConflict)
	}
	keyType, ok := keyTypeByKind[found.Kind]
	if !ok {
		keyType = KeyStaticAPIKey
	}
	cred := Credential{
		Name: truncateRunes(srv.Slug+" "+found.Location, 200), TeamID: srv.TeamID, EnvironmentID: srv.EnvironmentID,
		KeyType: keyType, Status: CredentialActive, Fingerprint: found.Fingerprint, Last4: found.Last4, Source: "import",
		ExposedIn: truncateRunes(sourceName+": "+path+"."+found.Location, 500),
		Notes: truncateRunes(fmt.Sprintf("Found in plain text (%s) in %s. Rotate it and move it to a secret store.",
			found.Kind, sourceName), 2000),
	}
	if err := tx.Omit(clause.Associations).Create(&cred).Error; err != nil {
		return cred, fmt.Errorf("create credential: %w", err)
	}
	if err := tx.Exec("INSERT INTO credential_servers (credential_id, server_id) VALUES (?, ?)", cred.ID, srv.ID).Error; err != nil {
		return cred, fmt.Errorf("attach credential: %w", err)
	}
	cred.Servers = []Server{srv}
	return cred, s.appendAudit(tx, actor, AuditEntry{Action: "credential.create", ObjectType: "credential",
		ObjectID: fmt.Sprint(cred.ID), After: map[string]any{"name": cred.Name, "team": cred.TeamID,
			"environment": cred.EnvironmentID, "key_type": cred.KeyType, "status": cred.Status, "source": cred.Source,
			"fingerprint": cred.Fingerprint[:12], "last4": cred.Last4, "exposed_in": cred.ExposedIn, "servers": []uint{srv.ID}}})
}

package models

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// ScaleOptions size a generated inventory for benchmarks.
type ScaleOptions struct {
	Servers     int
	Credentials int
	// Audit is the number of extra (chained) audit events to append.
	Audit int
	// Reviews is the number of step-up review requests (with decisions)
	// to spread over the last 365 days.
	Reviews int
	// Seed makes the data reproducible.
	Seed uint64
	// Progress, when set, is told what was done so far.
	Progress func(step string, done, total int)
}

// ScaleSummary says what SeedScale created and how long it took.
type ScaleSummary struct {
	Teams, Users, Servers, Tools, Credentials, Audit int
	Reviews                                          int
	Findings                                         int
	Took                                             time.Duration
}

const scaleBatch = 2000

// SeedScale generates a large inventory for benchmarks: teams, owners,
// servers with three tools each, credentials spread over the servers (about
// 2% sharing a secret), environment key policies, and extra audit events
// appended to the hash chain. Rows are inserted in batches, without one audit
// event per row; the generated audit events keep the chain valid. It is not
// meant for real data.
func (s *Store) SeedScale(ctx context.Context, o ScaleOptions) (ScaleSummary, error) {
	start := time.Now()
	var sum ScaleSummary
	if s.fp == nil {
		return sum, fmt.Errorf("seed scale: the store has no fingerprinter")
	}
	if o.Progress == nil {
		o.Progress = func(string, int, int) {}
	}
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	now := s.Now()
	var envs []Environment
	if err := s.r(ctx).Order("id").Find(&envs).Error; err != nil {
		return sum, err
	}
	teams, users, err := s.scaleTeamsAndUsers(ctx, &sum)
	if err != nil {
		return sum, err
	}
	if err := s.scaleEnvPolicies(ctx, envs); err != nil {
		return sum, err
	}
	var maxServer uint
	s.r(ctx).Model(&Server{}).Select("COALESCE(MAX(id), 0)").Scan(&maxServer)
	serverIDs := make([]uint, 0, o.Servers)
	serverEnv := map[uint]uint{}
	serverTeam := map[uint]uint{}
	for i := 0; i < o.Servers; i += scaleBatch {
		n := min(scaleBatch, o.Servers-i)
		batch := make([]Server, 0, n)
		for j := 0; j < n; j++ {
			k := i + j
			env := envs[rng.IntN(len(envs))]
			owner := users[rng.IntN(len(users))]
			srv := Server{Slug: fmt.Sprintf("scale-%d-%d", maxServer, k), Name: fmt.Sprintf("Scale server %d", k),
				TeamID: teams[rng.IntN(len(teams))], EnvironmentID: env.ID, Transport: TransportStreamableHTTP,
				Endpoint: fmt.Sprintf("https://mcp-%d.scale.internal/mcp", k), Hosting: HostingSelf, Status: ServerActive,
				ProductionData: env.Sensitive && rng.IntN(2) == 0, WriteActions: rng.IntN(4) == 0, MultiTenant: rng.IntN(20) == 0}
			if rng.IntN(10) == 0 {
				srv.Hosting, srv.VendorName = HostingVendor, "Vendor"
			}
			if rng.IntN(30) != 0 {
				srv.OwnerID = &owner
			}
			batch = append(batch, srv)
		}
		if err := s.w(ctx).Omit(clause.Associations).CreateInBatches(&batch, 500).Error; err != nil {
			return sum, fmt.Errorf("seed servers: %w", err)
		}
		tools := make([]Tool, 0, 3*n)
		for _, srv := range batch {
			serverIDs = append(serverIDs, srv.ID)
			serverEnv[srv.ID], serverTeam[srv.ID] = srv.EnvironmentID, srv.TeamID
			for t, hint := range []ToolHints{{ReadOnlyHint: b(true), OpenWorldHint: b(false)}, {ReadOnlyHint: b(false), DestructiveHint: b(false)}, {ReadOnlyHint: b(false), DestructiveHint: b(true)}} {
				h := hint
				def := ToolDefinition{Name: fmt.Sprintf("tool_%d", t), Annotations: &h}
				row := Tool{ServerID: srv.ID}
				def.apply(&row)
				row.ReviewedHash = row.DefinitionHash
				tools = append(tools, row)
			}
		}
		if err := s.w(ctx).Omit(clause.Associations).CreateInBatches(&tools, 500).Error; err != nil {
			return sum, fmt.Errorf("seed tools: %w", err)
		}
		sum.Servers += n
		sum.Tools += len(tools)
		o.Progress("servers", sum.Servers, o.Servers)
	}
	if len(serverIDs) == 0 {
		s.r(ctx).Model(&Server{}).Pluck("id", &serverIDs)
		var rows []Server
		s.r(ctx).Select("id, environment_id, team_id").Find(&rows)
		for _, r := range rows {
			serverEnv[r.ID], serverTeam[r.ID] = r.EnvironmentID, r.TeamID
		}
	}
	if o.Credentials > 0 && len(serverIDs) == 0 {
		return sum, fmt.Errorf("seed scale: credentials need servers")
	}
	var shared []string
	for i := 0; i < o.Credentials; i += scaleBatch {
		n := min(scaleBatch, o.Credentials-i)
		batch := make([]Credential, 0, n)
		attach := make([]uint, 0, n)
		for j := 0; j < n; j++ {
			sid := serverIDs[rng.IntN(len(serverIDs))]
			owner := users[rng.IntN(len(users))]
			issued := now.AddDate(0, 0, -rng.IntN(720))
			due := now.Add(time.Duration(rng.IntN(120*24)-60*24) * time.Hour)
			c := Credential{Name: fmt.Sprintf("scale credential %d", i+j), TeamID: serverTeam[sid], EnvironmentID: serverEnv[sid],
				KeyType: KeyTypes[rng.IntN(len(KeyTypes))], Issuer: "Vault", IssuedAt: &issued, LastRotatedAt: &issued,
				RotationSpec: "0 9 1 * *", RotationTZ: "UTC", NextDueAt: &due, Status: CredentialActive, Source: "seed"}
			if rng.IntN(25) != 0 {
				c.OwnerID = &owner
			}
			if rng.IntN(3) != 0 {
				exp := now.AddDate(0, 0, rng.IntN(365))
				c.ExpiresAt = &exp
			}
			if rng.IntN(20) == 0 {
				c.Status = CredentialRevoked
			}
			secret := fmt.Sprintf("scale_%d_%d_%d", o.Seed, i+j, rng.Uint64())
			if rng.IntN(50) == 0 && len(shared) > 0 {
				secret = shared[rng.IntN(len(shared))]
			} else if rng.IntN(100) == 0 {
				shared = append(shared, secret)
			}
			c.Fingerprint, c.Last4 = s.fp.Fingerprint(secret), Last4(secret)
			batch = append(batch, c)
			attach = append(attach, sid)
		}
		err := s.w(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.Omit(clause.Associations).CreateInBatches(&batch, 500).Error; err != nil {
				return err
			}
			links := make([]map[string]any, 0, n)
			for k, c := range batch {
				links = append(links, map[string]any{"credential_id": c.ID, "server_id": attach[k]})
			}
			return tx.Table("credential_servers").CreateInBatches(links, 500).Error
		})
		if err != nil {
			return sum, fmt.Errorf("seed credentials: %w", err)
		}
		sum.Credentials += n
		o.Progress("credentials", sum.Credentials, o.Credentials)
	}
	if err := s.scaleReviews(ctx, o, rng, users, &sum); err != nil {
		return sum, err
	}
	if err := s.scaleAudit(ctx, o, &sum); err != nil {
		return sum, err
	}
	o.Progress("findings", 0, 1)
	res, err := s.RecomputeFindings(ctx)
	if err != nil {
		return sum, err
	}
	sum.Findings = res.Open
	sum.Took = time.Since(start)
	return sum, nil
}

func (s *Store) scaleTeamsAndUsers(ctx context.Context, sum *ScaleSummary) ([]uint, []uint, error) {
	var teams, users []uint
	for i := range 20 {
		slug := fmt.Sprintf("scale-team-%02d", i)
		t, err := s.TeamBySlug(ctx, slug)
		if err != nil {
			if t, err = s.CreateTeam(ctx, SystemActor("seed scale"), TeamInput{Slug: slug, Name: fmt.Sprintf("Scale team %02d", i)}); err != nil {
				return nil, nil, err
			}
			sum.Teams++
		}
		teams = append(teams, t.ID)
	}
	for i := range 50 {
		email := fmt.Sprintf("scale-owner-%02d@example.com", i)
		u, err := s.UserByEmail(ctx, email)
		if err != nil {
			// Owners only: no password that could sign in.
			u = User{Email: email, Name: fmt.Sprintf("Scale owner %02d", i), PasswordHash: "!", Active: true}
			if err := s.w(ctx).Create(&u).Error; err != nil {
				return nil, nil, fmt.Errorf("seed owners: %w", err)
			}
			sum.Users++
		}
		users = append(users, u.ID)
	}
	return teams, users, nil
}

func (s *Store) scaleEnvPolicies(ctx context.Context, envs []Environment) error {
	var n int64
	s.r(ctx).Model(&AllowedKeyType{}).Where("server_id IS NULL").Count(&n)
	if n > 0 {
		return nil
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		for _, env := range envs {
			for _, e := range envPolicies[env.Name] {
				id := env.ID
				p := AllowedKeyType{EnvironmentID: &id, KeyType: e.kt, MaxLifetimeDays: e.days, RotationSpec: e.spec,
					RotationTZ: tzIf(e.spec), Rationale: e.why}
				if err := s.seedPolicy(tx, SystemActor("seed scale"), p, "environment", env.ID); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// scaleAudit appends o.Audit events to the chain in batches, computing each
// hash from the previous one as appendAudit does.
func (s *Store) scaleAudit(ctx context.Context, o ScaleOptions, sum *ScaleSummary) error {
	for done := 0; done < o.Audit; {
		n := min(10*scaleBatch, o.Audit-done)
		err := s.tx(ctx, func(tx *gorm.DB) error {
			var head auditHead
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&head, 1).Error; err != nil {
				return err
			}
			events := make([]AuditEvent, 0, n)
			prev, at := head.Hash, s.Now()
			for k := 0; k < n; k++ {
				ev := AuditEvent{ID: head.Seq + uint64(k) + 1, At: at, Actor: "seed scale", Action: "credential.update",
					ObjectType: "credential", ObjectID: fmt.Sprint(k % 1000), After: `{"note":"generated for benchmarks"}`, PrevHash: prev}
				ev.Hash = ev.computeHash()
				prev = ev.Hash
				events = append(events, ev)
			}
			if err := tx.CreateInBatches(&events, 1000).Error; err != nil {
				return err
			}
			last := events[len(events)-1]
			return tx.Model(&auditHead{}).Where("id = 1").Updates(map[string]any{"seq": last.ID, "hash": last.Hash}).Error
		})
		if err != nil {
			return fmt.Errorf("seed audit: %w", err)
		}
		done += n
		sum.Audit = done
		o.Progress("audit events", done, o.Audit)
	}
	return nil
}

// scaleReviews generates o.Reviews review requests over the last 365 days
// on destructive tools, decided by the generated owners (standing in for
// approvers), in batches.
func (s *Store) scaleReviews(ctx context.Context, o ScaleOptions, rng *rand.Rand, users []uint, sum *ScaleSummary) error {
	if o.Reviews <= 0 {
		return nil
	}
	var targets []reviewTarget
	err := s.r(ctx).Table("tools").Select("tools.id AS tool_id, tools.server_id, servers.team_id, servers.environment_id").
		Joins("JOIN servers ON servers.id = tools.server_id").
		Where("servers.status = ? AND tools.destructive_hint = ?", ServerActive, true).Order("tools.id").Limit(5000).Scan(&targets).Error
	if err != nil {
		return fmt.Errorf("seed reviews: %w", err)
	}
	if len(targets) == 0 {
		return fmt.Errorf("seed scale: reviews need servers with destructive tools")
	}
	for i := range targets {
		targets[i].Risk, targets[i].approvers = RiskHigh, users
	}
	var existing int64
	s.r(ctx).Model(&ReviewRequest{}).Count(&existing)
	prefix := fmt.Sprintf("rv_scale%d_", existing)
	now := s.Now()
	from := now.AddDate(0, 0, -365)
	for done := 0; done < o.Reviews; {
		n := min(scaleBatch, o.Reviews-done)
		reqs, decs := genReviews(rng, n, from, now, now, targets, prefix, done)
		if err := s.insertReviews(ctx, reqs, decs); err != nil {
			return err
		}
		done += n
		sum.Reviews = done
		o.Progress("reviews", done, o.Reviews)
	}
	return nil
}

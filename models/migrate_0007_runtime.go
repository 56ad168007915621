package models

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0007Runtime creates the tables of runtime decisions: API clients
// and their short-lived tokens, review rules, review requests and the
// approvers' decisions on them, grants, the log of every evaluation, and
// the notification channels (webhooks) of teams.
func migration0007Runtime() *gormigrate.Migration {
	type user struct{ ID uint }
	type team struct{ ID uint }
	type server struct{ ID uint }
	type tool struct{ ID uint }
	type environment struct{ ID uint }
	type apiClient struct {
		ID          uint   `gorm:"primaryKey"`
		ClientID    string `gorm:"size:64;not null;uniqueIndex"`
		Name        string `gorm:"size:120;not null"`
		TeamID      uint   `gorm:"not null;index"`
		Scopes      string `gorm:"size:300;not null;default:''"`
		SecretHash  string `gorm:"size:64;not null"`
		WebhookURL  string `gorm:"size:500;not null;default:''"`
		CreatedAt   time.Time
		UpdatedAt   time.Time
		RotatedAt   *time.Time
		RevokedAt   *time.Time
		LastTokenAt *time.Time
		Team        team `gorm:"foreignKey:TeamID;constraint:OnDelete:RESTRICT"`
	}
	type apiToken struct {
		ID        uint      `gorm:"primaryKey"`
		TokenHash string    `gorm:"size:64;not null;uniqueIndex"`
		ClientID  uint      `gorm:"not null;index"`
		Scopes    string    `gorm:"size:300;not null;default:''"`
		ExpiresAt time.Time `gorm:"not null;index"`
		RevokedAt *time.Time
		CreatedAt time.Time
		Client    apiClient `gorm:"foreignKey:ClientID;constraint:OnDelete:CASCADE"`
	}
	type reviewRule struct {
		ID                uint   `gorm:"primaryKey"`
		TeamID            uint   `gorm:"not null;index:ix_review_rules_order,priority:1"`
		Position          int    `gorm:"not null;index:ix_review_rules_order,priority:2"`
		Name              string `gorm:"size:120;not null"`
		ServerID          *uint  `gorm:"index"`
		ServerPattern     string `gorm:"size:100;not null;default:''"`
		ToolPattern       string `gorm:"size:150;not null;default:''"`
		EnvironmentID     *uint  `gorm:"index"`
		MinRisk           string `gorm:"size:10;not null;default:''"`
		DataClass         string `gorm:"size:60;not null;default:''"`
		SubjectPattern    string `gorm:"size:200;not null;default:''"`
		Outcome           string `gorm:"size:10;not null"`
		ApprovalsNeeded   int    `gorm:"not null;default:1"`
		ApproverRole      string `gorm:"size:20;not null;default:'approver'"`
		RequestTTLSeconds int    `gorm:"not null;default:3600"`
		GrantTTLSeconds   int    `gorm:"not null;default:600"`
		GrantMaxUses      int    `gorm:"not null;default:1"`
		Enabled           bool   `gorm:"not null;default:true"`
		CreatedAt         time.Time
		UpdatedAt         time.Time
		Team              team         `gorm:"foreignKey:TeamID;constraint:OnDelete:CASCADE"`
		Server            *server      `gorm:"foreignKey:ServerID;constraint:OnDelete:CASCADE"`
		Environment       *environment `gorm:"foreignKey:EnvironmentID;constraint:OnDelete:CASCADE"`
	}
	type reviewRequest struct {
		ID              uint      `gorm:"primaryKey"`
		PublicID        string    `gorm:"size:40;not null;uniqueIndex"`
		TeamID          uint      `gorm:"not null;index:ix_review_requests_queue,priority:1"`
		Status          string    `gorm:"size:10;not null;index:ix_review_requests_queue,priority:2;index:ix_review_requests_deadline,priority:1"`
		Subject         string    `gorm:"size:200;not null"`
		SubjectType     string    `gorm:"size:40;not null;default:''"`
		OnBehalfOf      string    `gorm:"size:200;not null;default:''"`
		ServerID        uint      `gorm:"not null;index"`
		ToolID          uint      `gorm:"not null;index"`
		EnvironmentID   uint      `gorm:"not null"`
		ArgumentDigest  string    `gorm:"size:64;not null"`
		ArgumentSummary string    `gorm:"type:text;not null;default:''"`
		Justification   string    `gorm:"size:2000;not null;default:''"`
		TaskID          string    `gorm:"size:200;not null;default:'';index"`
		Risk            string    `gorm:"size:10;not null"`
		RiskReasons     string    `gorm:"type:text;not null;default:''"`
		RuleID          *uint     `gorm:"index"`
		RuleName        string    `gorm:"size:120;not null;default:''"`
		ApprovalsNeeded int       `gorm:"not null;default:1"`
		Approvals       int       `gorm:"not null;default:0"`
		ApproverRole    string    `gorm:"size:20;not null;default:'approver'"`
		GrantTTLSeconds int       `gorm:"not null;default:600"`
		GrantMaxUses    int       `gorm:"not null;default:1"`
		ClientID        *uint     `gorm:"index"`
		Deadline        time.Time `gorm:"not null;index:ix_review_requests_deadline,priority:2"`
		CreatedAt       time.Time `gorm:"index:ix_review_requests_queue,priority:3"`
		DecidedAt       *time.Time
		Server          server     `gorm:"foreignKey:ServerID;constraint:OnDelete:CASCADE"`
		Tool            tool       `gorm:"foreignKey:ToolID;constraint:OnDelete:CASCADE"`
		Client          *apiClient `gorm:"foreignKey:ClientID;constraint:OnDelete:SET NULL"`
	}
	type reviewDecision struct {
		ID         uint   `gorm:"primaryKey"`
		RequestID  uint   `gorm:"not null;uniqueIndex:ux_review_decisions_once,priority:1"`
		ApproverID uint   `gorm:"not null;uniqueIndex:ux_review_decisions_once,priority:2;index"`
		Approve    bool   `gorm:"not null"`
		Comment    string `gorm:"size:2000;not null;default:''"`
		CreatedAt  time.Time
		Request    reviewRequest `gorm:"foreignKey:RequestID;constraint:OnDelete:CASCADE"`
		Approver   user          `gorm:"foreignKey:ApproverID;constraint:OnDelete:RESTRICT"`
	}
	type grant struct {
		ID             uint      `gorm:"primaryKey"`
		PublicID       string    `gorm:"size:40;not null;uniqueIndex"`
		TeamID         uint      `gorm:"not null;index"`
		RequestID      *uint     `gorm:"index"`
		Subject        string    `gorm:"size:200;not null;index:ix_grants_binding,priority:1"`
		ServerID       uint      `gorm:"not null;index:ix_grants_binding,priority:2"`
		ToolID         uint      `gorm:"not null;index:ix_grants_binding,priority:3"`
		ArgumentDigest string    `gorm:"size:64;not null;index:ix_grants_binding,priority:4"`
		TaskID         string    `gorm:"size:200;not null;default:'';index:ix_grants_binding,priority:5;index"`
		ExpiresAt      time.Time `gorm:"not null;index"`
		MaxUses        int       `gorm:"not null;default:1"`
		Uses           int       `gorm:"not null;default:0"`
		RevokedAt      *time.Time
		RevokedReason  string `gorm:"size:300;not null;default:''"`
		ExpiredAt      *time.Time
		CreatedAt      time.Time
		LastUsedAt     *time.Time
		Request        *reviewRequest `gorm:"foreignKey:RequestID;constraint:OnDelete:SET NULL"`
		Server         server         `gorm:"foreignKey:ServerID;constraint:OnDelete:CASCADE"`
		Tool           tool           `gorm:"foreignKey:ToolID;constraint:OnDelete:CASCADE"`
	}
	type decision struct {
		ID            uint      `gorm:"primaryKey"`
		At            time.Time `gorm:"not null;index"`
		TeamID        *uint     `gorm:"index:ix_decisions_team,priority:1"`
		ClientID      *uint     `gorm:"index"`
		Subject       string    `gorm:"size:200;not null;default:''"`
		OnBehalfOf    string    `gorm:"size:200;not null;default:''"`
		ServerID      *uint     `gorm:"index"`
		ToolID        *uint
		Resource      string `gorm:"size:300;not null;default:''"`
		Outcome       string `gorm:"size:20;not null;index:ix_decisions_team,priority:2"`
		Reason        string `gorm:"size:1000;not null;default:''"`
		Risk          string `gorm:"size:10;not null;default:''"`
		RuleID        *uint
		RequestID     *uint  `gorm:"index"`
		GrantID       *uint  `gorm:"index"`
		TaskID        string `gorm:"size:200;not null;default:''"`
		LatencyMicros int64  `gorm:"not null;default:0"`
	}
	type notificationChannel struct {
		ID        uint   `gorm:"primaryKey"`
		TeamID    uint   `gorm:"not null;index"`
		Name      string `gorm:"size:120;not null"`
		Kind      string `gorm:"size:10;not null"`
		URL       string `gorm:"size:500;not null"`
		Events    string `gorm:"size:300;not null;default:''"`
		Enabled   bool   `gorm:"not null;default:true"`
		CreatedAt time.Time
		UpdatedAt time.Time
		Team      team `gorm:"foreignKey:TeamID;constraint:OnDelete:CASCADE"`
	}
	tables := []struct {
		name  string
		model any
	}{
		{"api_clients", &apiClient{}}, {"api_tokens", &apiToken{}}, {"review_rules", &reviewRule{}},
		{"review_requests", &reviewRequest{}}, {"review_decisions", &reviewDecision{}}, {"grants", &grant{}},
		{"decisions", &decision{}}, {"notification_channels", &notificationChannel{}},
	}
	return &gormigrate.Migration{
		ID: "0007_runtime",
		Migrate: func(tx *gorm.DB) error {
			for _, t := range tables {
				if err := tx.Table(t.name).Migrator().CreateTable(t.model); err != nil {
					return err
				}
			}
			for _, stmt := range []string{
				// One pending request per call: the same (subject, server, tool,
				// arguments, task) while pending returns the same request.
				`CREATE UNIQUE INDEX ux_review_requests_pending ON review_requests (subject, server_id, tool_id, argument_digest, task_id) WHERE status = 'pending'`,
				// Outbox messages may target one API client's webhook.
				`ALTER TABLE outbox_messages ADD COLUMN client_id INTEGER`,
			} {
				if err := tx.Exec(stmt).Error; err != nil {
					return err
				}
			}
			return nil
		},
		Rollback: func(tx *gorm.DB) error {
			for i := len(tables) - 1; i >= 0; i-- {
				if err := tx.Migrator().DropTable(tables[i].name); err != nil {
					return err
				}
			}
			return tx.Exec(`ALTER TABLE outbox_messages DROP COLUMN client_id`).Error
		},
	}
}

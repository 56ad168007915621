package models

import (
	"time"

	"github.com/go-gormigrate/gormigrate/v2"
	"gorm.io/gorm"
)

// migration0002Inventory creates environments (with dev, test and prod),
// servers, tools, key policies, credentials, findings and risk exceptions.
func migration0002Inventory() *gormigrate.Migration {
	// Stubs of tables created by 0001, for foreign keys only.
	type user struct{ ID uint }
	type team struct{ ID uint }
	type environment struct {
		ID          uint   `gorm:"primaryKey"`
		Name        string `gorm:"size:40;not null;uniqueIndex"`
		Sensitive   bool   `gorm:"not null;default:false"`
		Description string `gorm:"size:500;not null;default:''"`
		CreatedAt   time.Time
		UpdatedAt   time.Time
	}
	type server struct {
		ID             uint   `gorm:"primaryKey"`
		Slug           string `gorm:"size:64;not null;uniqueIndex"`
		Name           string `gorm:"size:120;not null;index"`
		Description    string `gorm:"size:2000;not null;default:''"`
		TeamID         uint   `gorm:"not null;index"`
		EnvironmentID  uint   `gorm:"not null;index"`
		Transport      string `gorm:"size:20;not null"`
		Endpoint       string `gorm:"size:500;not null;default:''"`
		Hosting        string `gorm:"size:10;not null"`
		VendorName     string `gorm:"size:120;not null;default:''"`
		OwnerID        *uint  `gorm:"index"`
		Status         string `gorm:"size:10;not null;index"`
		ProductionData bool   `gorm:"not null;default:false"`
		WriteActions   bool   `gorm:"not null;default:false"`
		MultiTenant    bool   `gorm:"not null;default:false"`
		ChainsTools    bool   `gorm:"not null;default:false"`
		DataClasses    string `gorm:"size:500;not null;default:''"`
		CreatedAt      time.Time
		UpdatedAt      time.Time
		Team           team        `gorm:"foreignKey:TeamID;constraint:OnDelete:RESTRICT"`
		Environment    environment `gorm:"foreignKey:EnvironmentID;constraint:OnDelete:RESTRICT"`
		Owner          *user       `gorm:"foreignKey:OwnerID;constraint:OnDelete:SET NULL"`
	}
	type tool struct {
		ID              uint   `gorm:"primaryKey"`
		ServerID        uint   `gorm:"not null;uniqueIndex:ux_tool_name,priority:1"`
		Name            string `gorm:"size:128;not null;uniqueIndex:ux_tool_name,priority:2"`
		Title           string `gorm:"size:200;not null;default:''"`
		Description     string `gorm:"type:text;not null;default:''"`
		ReadOnlyHint    *bool
		DestructiveHint *bool
		IdempotentHint  *bool
		OpenWorldHint   *bool
		InputSchema     string `gorm:"type:text;not null;default:''"`
		DefinitionHash  string `gorm:"size:64;not null"`
		ReviewedHash    string `gorm:"size:64;not null;default:''"`
		RiskOverride    string `gorm:"size:10;not null;default:''"`
		OverrideReason  string `gorm:"size:500;not null;default:''"`
		CreatedAt       time.Time
		UpdatedAt       time.Time
		Server          server `gorm:"foreignKey:ServerID;constraint:OnDelete:CASCADE"`
	}
	type allowedKeyType struct {
		ID              uint   `gorm:"primaryKey"`
		ServerID        *uint  `gorm:"index"`
		EnvironmentID   *uint  `gorm:"index"`
		KeyType         string `gorm:"size:40;not null"`
		MaxLifetimeDays int    `gorm:"not null;default:0"`
		RotationSpec    string `gorm:"size:100;not null;default:''"`
		RotationTZ      string `gorm:"size:64;not null;default:''"`
		RequiredScopes  string `gorm:"size:500;not null;default:''"`
		Rationale       string `gorm:"type:text;not null"`
		CreatedAt       time.Time
		UpdatedAt       time.Time
		Server          *server      `gorm:"foreignKey:ServerID;constraint:OnDelete:CASCADE"`
		Environment     *environment `gorm:"foreignKey:EnvironmentID;constraint:OnDelete:CASCADE"`
	}
	type credential struct {
		ID            uint   `gorm:"primaryKey"`
		Name          string `gorm:"size:200;not null;index"`
		TeamID        uint   `gorm:"not null;index"`
		EnvironmentID uint   `gorm:"not null;index"`
		KeyType       string `gorm:"size:40;not null;index"`
		Scopes        string `gorm:"size:500;not null;default:''"`
		OwnerID       *uint  `gorm:"index"`
		Issuer        string `gorm:"size:200;not null;default:''"`
		IssuedAt      *time.Time
		ExpiresAt     *time.Time
		LastRotatedAt *time.Time
		RotationSpec  string     `gorm:"size:100;not null;default:''"`
		RotationTZ    string     `gorm:"size:64;not null;default:''"`
		NextDueAt     *time.Time `gorm:"index"`
		Status        string     `gorm:"size:10;not null;index"`
		Fingerprint   string     `gorm:"size:64;not null;default:'';index"`
		Last4         string     `gorm:"size:4;not null;default:''"`
		Source        string     `gorm:"size:20;not null;default:'manual'"`
		ExposedIn     string     `gorm:"size:500;not null;default:''"`
		Notes         string     `gorm:"type:text;not null;default:''"`
		CreatedAt     time.Time
		UpdatedAt     time.Time
		Team          team        `gorm:"foreignKey:TeamID;constraint:OnDelete:RESTRICT"`
		Environment   environment `gorm:"foreignKey:EnvironmentID;constraint:OnDelete:RESTRICT"`
		Owner         *user       `gorm:"foreignKey:OwnerID;constraint:OnDelete:SET NULL"`
	}
	type credentialServer struct {
		CredentialID uint       `gorm:"primaryKey"`
		ServerID     uint       `gorm:"primaryKey;index"`
		Credential   credential `gorm:"foreignKey:CredentialID;constraint:OnDelete:CASCADE"`
		Server       server     `gorm:"foreignKey:ServerID;constraint:OnDelete:CASCADE"`
	}
	type finding struct {
		ID            uint   `gorm:"primaryKey"`
		Key           string `gorm:"size:200;not null;uniqueIndex"`
		RuleID        string `gorm:"size:10;not null;index"`
		Severity      string `gorm:"size:10;not null;index"`
		ObjectType    string `gorm:"size:20;not null;index:ix_finding_object,priority:1"`
		ObjectID      uint   `gorm:"not null;index:ix_finding_object,priority:2"`
		ObjectName    string `gorm:"size:200;not null;default:''"`
		TeamID        uint   `gorm:"not null;index"`
		EnvironmentID *uint  `gorm:"index"`
		Detail        string `gorm:"type:text;not null;default:''"`
		FirstSeenAt   time.Time
		LastSeenAt    time.Time
		ResolvedAt    *time.Time `gorm:"index"`
	}
	type riskException struct {
		ID            uint   `gorm:"primaryKey"`
		FindingKey    string `gorm:"size:200;not null;index"`
		RuleID        string `gorm:"size:10;not null"`
		Justification string `gorm:"type:text;not null"`
		RequestedByID uint   `gorm:"not null"`
		DecidedByID   *uint
		Status        string `gorm:"size:10;not null;index"`
		ExpiresAt     time.Time
		CreatedAt     time.Time
		DecidedAt     *time.Time
		RequestedBy   user  `gorm:"foreignKey:RequestedByID;constraint:OnDelete:RESTRICT"`
		DecidedBy     *user `gorm:"foreignKey:DecidedByID;constraint:OnDelete:RESTRICT"`
	}
	tables := []struct {
		name  string
		model any
	}{
		{"environments", &environment{}}, {"servers", &server{}}, {"tools", &tool{}},
		{"allowed_key_types", &allowedKeyType{}}, {"credentials", &credential{}},
		{"credential_servers", &credentialServer{}}, {"findings", &finding{}}, {"risk_exceptions", &riskException{}},
	}
	return &gormigrate.Migration{
		ID: "0002_inventory",
		Migrate: func(tx *gorm.DB) error {
			for _, t := range tables {
				if err := tx.Table(t.name).Migrator().CreateTable(t.model); err != nil {
					return err
				}
			}
			envs := []environment{
				{Name: "dev", Description: "Development: no production data."},
				{Name: "test", Description: "Testing and staging."},
				{Name: "prod", Sensitive: true, Description: "Production: real customers and data."},
			}
			return tx.Table("environments").Create(&envs).Error
		},
		Rollback: func(tx *gorm.DB) error {
			for i := len(tables) - 1; i >= 0; i-- {
				if err := tx.Migrator().DropTable(tables[i].name); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

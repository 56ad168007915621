package models

import "context"

// Counts are the headline numbers of the overview page.
type Counts struct {
	Teams       int64
	Users       int64
	AuditEvents int64
}

// Counts returns the overview counts.
func (s *Store) Counts(ctx context.Context) (Counts, error) {
	var c Counts
	db := s.r(ctx)
	if err := db.Model(&Team{}).Count(&c.Teams).Error; err != nil {
		return c, err
	}
	if err := db.Model(&User{}).Where("active = ?", true).Count(&c.Users).Error; err != nil {
		return c, err
	}
	var head auditHead
	if err := db.First(&head, 1).Error; err != nil {
		return c, err
	}
	c.AuditEvents = int64(head.Seq)
	return c, nil
}

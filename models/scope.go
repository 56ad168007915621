package models

import "gorm.io/gorm"

// TeamScope limits a query to the teams a user may see. All means every
// team (an org-wide role); otherwise only the listed team ids.
type TeamScope struct {
	All bool
	IDs []uint
}

// AllTeams is the scope of org-wide readers.
var AllTeams = TeamScope{All: true}

// Includes reports whether the team is in scope.
func (s TeamScope) Includes(teamID uint) bool {
	if s.All {
		return true
	}
	for _, id := range s.IDs {
		if id == teamID {
			return true
		}
	}
	return false
}

// apply adds the scope to a query on a table with a team_id column.
func (s TeamScope) apply(q *gorm.DB, column string) *gorm.DB {
	if s.All {
		return q
	}
	if len(s.IDs) == 0 {
		return q.Where("1 = 0")
	}
	return q.Where(column+" IN ?", s.IDs)
}

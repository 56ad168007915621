package models

import (
	"context"
	"fmt"
)

// ControlStatus is where the organisation stands on one framework control.
type ControlStatus string

// Control states, from the mapping and the findings of its rules.
const (
	// ControlAttention: open findings of a mapped rule.
	ControlAttention ControlStatus = "attention"
	// ControlAccepted: findings exist but every one is covered by a live
	// exception.
	ControlAccepted ControlStatus = "accepted"
	// ControlClear: no open finding of any mapped rule.
	ControlClear ControlStatus = "clear"
	// ControlNotAssessed: no Countersign rule maps to the control.
	ControlNotAssessed ControlStatus = "not assessed"
)

// ControlView is one control with its rules and their findings.
type ControlView struct {
	Control
	Rules    []Rule
	Open     int64
	Excepted int64
	Status   ControlStatus
}

// FrameworkView is one framework of the mapping file with its controls.
type FrameworkView struct {
	Framework
	Controls  []ControlView
	Attention int
}

// FrameworkStatus reports, for every control of every framework in the
// mapping file, the rules mapped to it, their open and accepted findings in
// the scope, and a status. Controls no rule maps to are "not assessed".
func (s *Store) FrameworkStatus(ctx context.Context, scope TeamScope, teamID, envID uint) ([]FrameworkView, error) {
	open, err := s.findingCountsByRule(ctx, FindingFilter{Scope: scope, State: FindingOpen, TeamID: teamID, EnvironmentID: envID})
	if err != nil {
		return nil, err
	}
	excepted, err := s.findingCountsByRule(ctx, FindingFilter{Scope: scope, State: FindingExcepted, TeamID: teamID, EnvironmentID: envID})
	if err != nil {
		return nil, err
	}
	cat := RuleCatalog()
	out := make([]FrameworkView, 0, len(cat.Frameworks))
	for _, f := range cat.Frameworks {
		fv := FrameworkView{Framework: f}
		for _, ctl := range f.Controls {
			cv := ControlView{Control: ctl, Status: ControlNotAssessed}
			for _, id := range cat.RulesOfControl(ctl.ID) {
				r, _ := cat.Rule(id)
				cv.Rules = append(cv.Rules, r)
				cv.Open += open[id]
				cv.Excepted += excepted[id]
			}
			switch {
			case len(cv.Rules) == 0:
			case cv.Open > 0:
				cv.Status = ControlAttention
				fv.Attention++
			case cv.Excepted > 0:
				cv.Status = ControlAccepted
			default:
				cv.Status = ControlClear
			}
			fv.Controls = append(fv.Controls, cv)
		}
		out = append(out, fv)
	}
	return out, nil
}

// findingCountsByRule counts the findings of a filter per rule.
func (s *Store) findingCountsByRule(ctx context.Context, f FindingFilter) (map[string]int64, error) {
	q, err := s.findingsQuery(ctx, f)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		RuleID string
		N      int64
	}
	if err := q.Select("findings.rule_id AS rule_id, COUNT(*) AS n").Group("findings.rule_id").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("count findings by rule: %w", err)
	}
	out := map[string]int64{}
	for _, r := range rows {
		out[r.RuleID] = r.N
	}
	return out, nil
}

package models

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"
)

// frameworksJSON is the mapping of posture rules to framework controls: the
// one file that holds it, shown as-is on the framework pages.
//
//go:embed frameworks.json
var frameworksJSON []byte

// FrameworksJSON returns the mapping file as shipped.
func FrameworksJSON() []byte { return frameworksJSON }

// Framework is a security framework whose controls the rules map to.
type Framework struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Source   string    `json:"source"`
	Controls []Control `json:"controls"`
}

// Control is one control (or risk) of a framework.
type Control struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	// Framework is the id of the framework; filled when the file is loaded.
	Framework string `json:"-"`
}

// Rule is a posture rule: its stable id, severity, and what it means.
type Rule struct {
	ID          string   `json:"id"`
	Severity    Severity `json:"severity"`
	Title       string   `json:"title"`
	Explanation string   `json:"explanation"`
	ControlIDs  []string `json:"controls"`
}

// Catalog is the parsed mapping file.
type Catalog struct {
	Note       string      `json:"note"`
	Frameworks []Framework `json:"frameworks"`
	Rules      []Rule      `json:"rules"`
	controls   map[string]Control
	rules      map[string]Rule
}

var loadCatalog = sync.OnceValues(func() (*Catalog, error) { return parseCatalog(frameworksJSON) })

// RuleCatalog returns the rules and frameworks. The file is embedded and
// checked by a test, so an error here is a build defect; it panics.
func RuleCatalog() *Catalog {
	c, err := loadCatalog()
	if err != nil {
		panic(err)
	}
	return c
}

func parseCatalog(data []byte) (*Catalog, error) {
	var c Catalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("frameworks.json: %w", err)
	}
	c.controls, c.rules = map[string]Control{}, map[string]Rule{}
	for i, f := range c.Frameworks {
		for j, ctl := range f.Controls {
			if _, dup := c.controls[ctl.ID]; dup {
				return nil, fmt.Errorf("frameworks.json: control %s appears twice", ctl.ID)
			}
			ctl.Framework = f.ID
			c.Frameworks[i].Controls[j] = ctl
			c.controls[ctl.ID] = ctl
		}
	}
	for _, r := range c.Rules {
		if r.Severity.Rank() == 0 {
			return nil, fmt.Errorf("frameworks.json: rule %s has severity %q", r.ID, r.Severity)
		}
		for _, id := range r.ControlIDs {
			if _, ok := c.controls[id]; !ok {
				return nil, fmt.Errorf("frameworks.json: rule %s maps to unknown control %s", r.ID, id)
			}
		}
		c.rules[r.ID] = r
	}
	return &c, nil
}

// Rule returns a rule by id.
func (c *Catalog) Rule(id string) (Rule, bool) { r, ok := c.rules[id]; return r, ok }

// Control returns a control by id.
func (c *Catalog) Control(id string) (Control, bool) { ctl, ok := c.controls[id]; return ctl, ok }

// ControlsOf returns the controls a rule maps to.
func (c *Catalog) ControlsOf(ruleID string) []Control {
	r, ok := c.rules[ruleID]
	if !ok {
		return nil
	}
	out := make([]Control, 0, len(r.ControlIDs))
	for _, id := range r.ControlIDs {
		out = append(out, c.controls[id])
	}
	return out
}

// RulesOfFramework returns the ids of the rules mapped to any control of
// the framework.
func (c *Catalog) RulesOfFramework(frameworkID string) []string {
	var out []string
	for _, r := range c.Rules {
		for _, id := range r.ControlIDs {
			if c.controls[id].Framework == frameworkID {
				out = append(out, r.ID)
				break
			}
		}
	}
	return out
}

// RulesOfControl returns the ids of the rules mapped to a control.
func (c *Catalog) RulesOfControl(controlID string) []string {
	var out []string
	for _, r := range c.Rules {
		for _, id := range r.ControlIDs {
			if id == controlID {
				out = append(out, r.ID)
			}
		}
	}
	return out
}

package handlers

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/web/auth"
	"github.com/countersign/countersign/web/authz"
	"github.com/labstack/echo/v4"
)

// Scope returns the teams in which the current user holds permission p.
func (b *Base) Scope(c echo.Context, p authz.Permission) (models.TeamScope, error) {
	u, _ := auth.CurrentUser(c)
	domains, err := b.Authz.DomainsWith(u.ID, p)
	if err != nil {
		return models.TeamScope{}, err
	}
	var scope models.TeamScope
	for _, d := range domains {
		if d == models.OrgWide {
			return models.AllTeams, nil
		}
		id, err := strconv.ParseUint(strings.TrimPrefix(d, "team:"), 10, 64)
		if err != nil {
			return scope, fmt.Errorf("authz: unexpected domain %q", d)
		}
		scope.IDs = append(scope.IDs, uint(id))
	}
	return scope, nil
}

// Require fails with ErrForbidden unless the user holds p in the team.
func (b *Base) Require(c echo.Context, teamID uint, p authz.Permission) error {
	ok, err := b.Can(c, teamID, p)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w: your roles do not allow this in that team", models.ErrForbidden)
	}
	return nil
}

// Can reports whether the user holds p in the team.
func (b *Base) Can(c echo.Context, teamID uint, p authz.Permission) (bool, error) {
	u, _ := auth.CurrentUser(c)
	return b.Authz.Can(u.ID, models.TeamDomain(teamID), p)
}

// Permissions used by the inventory handlers.
var (
	InventoryRead  = authz.Permission{Object: authz.ObjInventory, Action: authz.ActRead}
	InventoryWrite = authz.Permission{Object: authz.ObjInventory, Action: authz.ActWrite}
)

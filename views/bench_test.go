package views_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/countersign/countersign/views"
)

func layout() views.LayoutData {
	return views.LayoutData{Title: "Users", UserID: 1, UserName: "Admin", UserEmail: "admin@example.com",
		CSRF: "token", Nav: []views.NavItem{{Label: "Overview", URL: "/"}, {Label: "Users", URL: "/admin/users", Active: true}},
		Assets: views.AssetURLs{CSS: "/static/css/app.css", HTMX: "/static/js/htmx.min.js", AppJS: "/static/js/app.js", Favicon: "/static/img/favicon.svg"}}
}

// BenchmarkRenderLogin renders the sign-in page.
func BenchmarkRenderLogin(b *testing.B) {
	p := views.LoginProps{Layout: layout()}
	for i := 0; i < b.N; i++ {
		if err := views.Login(p).Render(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderUsersPage renders a full list page of 25 users.
func BenchmarkRenderUsersPage(b *testing.B) {
	page := models.Page[models.User]{Total: 500, Params: models.ListParams{Page: 2, PerPage: 25}}
	now := time.Now()
	for i := 0; i < 25; i++ {
		page.Items = append(page.Items, models.User{ID: uint(i + 1), Email: fmt.Sprintf("user%d@example.com", i), Name: fmt.Sprintf("User %d", i), Active: i%7 != 0, CreatedAt: now, LastLoginAt: &now})
	}
	p := views.UsersProps{Layout: layout(), Page: page, Pager: views.Pager{Path: "/admin/users", Page: 2, Pages: 20, Total: 500, PerPage: 25}}
	for i := 0; i < b.N; i++ {
		if err := views.Users(p).Render(context.Background(), io.Discard); err != nil {
			b.Fatal(err)
		}
	}
}

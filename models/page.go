package models

import "strings"

// ListParams are the paging, sorting and search options of every list.
type ListParams struct {
	Page    int
	PerPage int
	Search  string
	Sort    string
	Desc    bool
}

// DefaultPerPage and MaxPerPage bound the page size of every list.
const (
	DefaultPerPage = 25
	MaxPerPage     = 200
)

// Normalize clamps the page and page size into their valid ranges.
func (p ListParams) Normalize() ListParams {
	if p.Page < 1 {
		p.Page = 1
	}
	if p.PerPage <= 0 {
		p.PerPage = DefaultPerPage
	}
	if p.PerPage > MaxPerPage {
		p.PerPage = MaxPerPage
	}
	p.Search = strings.TrimSpace(p.Search)
	return p
}

// Offset is the number of rows before the page.
func (p ListParams) Offset() int { return (p.Page - 1) * p.PerPage }

// orderBy returns an ORDER BY clause for p.Sort when it is one of the
// allowed columns (key: the public name, value: the SQL column), else def.
func (p ListParams) orderBy(allowed map[string]string, def string) string {
	col, ok := allowed[p.Sort]
	if !ok {
		return def
	}
	if p.Desc {
		return col + " DESC"
	}
	return col + " ASC"
}

// likePattern escapes a search term for a LIKE match anywhere in a column.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + strings.ToLower(r.Replace(s)) + "%"
}

// Page is one page of a list, with the total count for pagination.
type Page[T any] struct {
	Items  []T
	Total  int64
	Params ListParams
}

// Pages is the number of pages (at least 1).
func (p Page[T]) Pages() int {
	if p.Params.PerPage <= 0 || p.Total == 0 {
		return 1
	}
	return int((p.Total + int64(p.Params.PerPage) - 1) / int64(p.Params.PerPage))
}

// ilike is a case-insensitive LIKE condition on column with one argument:
// SQLite's LIKE already ignores ASCII case (and LOWER() would cost a call per
// row); PostgreSQL has ILIKE.
func (s *Store) ilike(column string) string {
	if s.dialect == DialectPostgres {
		return column + ` ILIKE ? ESCAPE '\'`
	}
	return column + ` LIKE ? ESCAPE '\'`
}

package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/labstack/echo/v4"
)

// exportPageSize is how many rows an export reads at a time.
const exportPageSize = 1000

// Export streams every row of a filtered list as CSV or JSON, page by page,
// so that large inventories export in constant memory. fetch gets the list
// parameters of each page; columns name the fields of row.
func Export[T any](c echo.Context, format, name string, columns []string, row func(T) []string,
	fetch func(models.ListParams) (models.Page[T], error), params models.ListParams) error {
	stamp := time.Now().UTC().Format("20060102-150405")
	w := c.Response()
	switch format {
	case "csv":
		w.Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	case "json":
		w.Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSONCharsetUTF8)
	default:
		return echo.NewHTTPError(http.StatusBadRequest, "Choose format=csv or format=json.")
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s-%s.%s"`, name, stamp, format))
	params.PerPage = exportPageSize
	params.Page = 1
	first, err := fetch(params)
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	var cw *safeCSV
	enc := json.NewEncoder(w)
	if format == "csv" {
		cw = newSafeCSV(w)
		_ = cw.Write(columns)
	} else {
		_, _ = w.Write([]byte("["))
	}
	n := 0
	page := first
	for {
		for _, item := range page.Items {
			values := row(item)
			if cw != nil {
				_ = cw.Write(values)
				continue
			}
			obj := make(map[string]string, len(columns))
			for i, col := range columns {
				obj[col] = values[i]
			}
			if n > 0 {
				_, _ = w.Write([]byte(","))
			}
			_ = enc.Encode(obj)
			n++
		}
		if int64(params.Page*params.PerPage) >= page.Total || len(page.Items) == 0 {
			break
		}
		params.Page++
		if page, err = fetch(params); err != nil {
			return err // headers are sent: the error is logged, the file is cut short
		}
	}
	if cw != nil {
		return cw.Flush()
	}
	_, err = w.Write([]byte("]\n"))
	return err
}

// timeCell renders an optional time for exports (RFC 3339, or empty).
func timeCell(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

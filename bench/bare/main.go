// Command bare is the baseline of the loopback benchmarks: a bare Echo
// handler serving one file's bytes at /login (bench/run.sh), and a bare Echo
// JSON handler at POST /access/v1/evaluation that decodes the body and
// answers a decision of the same shape, without any lookup (bench/decision.sh).
package main

import (
	"flag"
	"log"
	"net/http"
	"os"

	"github.com/labstack/echo/v4"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	file := flag.String("file", "", "file whose bytes to serve")
	flag.Parse()
	body := []byte("<!doctype html><title>bare</title>")
	var err error
	if *file != "" {
		body, err = os.ReadFile(*file)
	}
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/login", func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, body) })
	e.POST("/access/v1/evaluation", func(c echo.Context) error {
		var in map[string]any
		if err := c.Bind(&in); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"decision": true, "context": map[string]any{
			"outcome": "allow", "reason": "low-risk tool (default)", "decision_id": 1, "risk": "low", "risk_reasons": []string{"read-only"}}})
	})
	log.Fatal(e.Start(*addr))
}

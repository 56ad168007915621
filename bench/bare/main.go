// Command bare serves one file's bytes at /login with a bare Echo handler: the
// baseline the sign-in page's throughput is compared with (bench/run.sh).
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
	body, err := os.ReadFile(*file)
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.GET("/login", func(c echo.Context) error { return c.HTMLBlob(http.StatusOK, body) })
	log.Fatal(e.Start(*addr))
}

package web

import (
	"database/sql"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/countersign/countersign/models"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics holds the Prometheus collectors of one server. They live in their
// own registry, not the global one.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	// observers caches the latency observer per method and route.
	observers sync.Map
}

func newMetrics(db *sql.DB, decisionLogBacklog func() int) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "countersign_http_requests_total", Help: "HTTP requests by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "countersign_http_request_duration_seconds", Help: "HTTP request latency by method and route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method", "route"}),
	}
	m.registry.MustRegister(m.requests, m.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewDBStatsCollector(db, "countersign"),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "countersign_decision_log_backlog",
			Help: fmt.Sprintf("Decision records answered and written to the decision log, not yet in the database (SQLite); "+
				"decisions fail closed past %d.", models.DecisionLogMaxBacklog),
		}, func() float64 { return float64(decisionLogBacklog()) }))
	return m
}

// middleware records every request under its route pattern (not its raw
// path, so ids do not explode the label set).
func (m *metrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		if err != nil {
			if he, ok := err.(*echo.HTTPError); ok {
				status = he.Code
			} else if status < 400 {
				status = classify(err).status
			}
		}
		m.requests.WithLabelValues(c.Request().Method, route, strconv.Itoa(status)).Inc()
		key := c.Request().Method + " " + route
		obs, ok := m.observers.Load(key)
		if !ok {
			obs, _ = m.observers.LoadOrStore(key, m.latency.WithLabelValues(c.Request().Method, route))
		}
		obs.(prometheus.Observer).Observe(time.Since(start).Seconds())
		return err
	}
}

func (m *metrics) handler() echo.HandlerFunc {
	return echo.WrapHandler(promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{}))
}

package catalog

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// dependencyEvery is how long one check of a dependency stands: the ops readiness and
// the metric share it, so scrapes and curls never hammer a vendor.
const dependencyEvery = 5 * time.Second

// dependency is something outside the process its services need: the database (hard:
// without it they cannot serve, and their health says NOT_SERVING), or a vendor
// endpoint (soft: the pix provider, Chime, S3), whose outage degrades the calls that
// need it — they fail with a retryable UNAVAILABLE and the jobs behind them retry —
// while everything else goes on. A soft dependency never takes a replica out of its
// Service nor the gateway out of the load balancer: every replica shares the vendor,
// so taking them out would turn a degraded feature into a total outage.
type dependency struct {
	name  string
	hard  bool
	check func(context.Context) error

	mu      sync.Mutex
	checked time.Time
	err     error
}

// status is the dependency's last check, made again when older than dependencyEvery.
func (d *dependency) status(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.checked.IsZero() && time.Since(d.checked) < dependencyEvery {
		return d.err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	d.err, d.checked = d.check(ctx), time.Now()
	return d.err
}

// dependOn records a soft dependency of the process's services, reported by the ops
// readiness (/readyz) and the healthcore_dependency_up metric.
func (p *Process) dependOn(name string, check func(context.Context) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deps = append(p.deps, &dependency{name: name, check: check})
}

// dependOnEndpoint records the vendor endpoint a driver calls (one with an Endpoint
// method: the production drivers; a local driver has none) as a soft dependency,
// reachable when a plain GET of its URL gets any HTTP answer — the vendor's refusal of
// an unsigned request included; it sends no credentials and calls no API action.
func (p *Process) dependOnEndpoint(name string, driver any) {
	e, ok := driver.(interface{ Endpoint() string })
	if !ok {
		return
	}
	url := e.Endpoint()
	p.dependOn(name, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := probeClient.Do(req)
		if err != nil {
			return fmt.Errorf("%s: %w", req.URL.Host, errors.Unwrap(err))
		}
		resp.Body.Close()
		return nil
	})
}

// probeClient makes the probes of vendor endpoints: no redirects followed, no
// connection kept (a probe every few seconds at most).
var probeClient = &http.Client{
	Transport:     &http.Transport{DisableKeepAlives: true, Proxy: http.ProxyFromEnvironment},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// dependencies are the database (when the process opened a pool) and the soft
// dependencies.
func (p *Process) dependencies() []*dependency {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*dependency
	if len(p.pools) > 0 {
		if p.dbDep == nil {
			p.dbDep = &dependency{name: "database", hard: true, check: p.databaseReady}
		}
		out = append(out, p.dbDep)
	}
	return append(out, p.deps...)
}

// readyzHandler answers the ops listener's /readyz: one line per dependency, "SERVING"
// or "DEGRADED: <error>" (soft) or "NOT_SERVING: <error>" (hard); 503 when a hard one
// fails, else 200, degraded or not — what an operator, not a load balancer, reads
// (the probes use gRPC health, and the gateway's /readyz).
func (p *Process) readyzHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code, verdict := http.StatusOK, "ready"
		var lines []string
		for _, d := range p.dependencies() {
			state := "SERVING"
			if err := d.status(r.Context()); err != nil {
				if d.hard {
					code, verdict, state = http.StatusServiceUnavailable, "not ready", "NOT_SERVING: "+err.Error()
				} else {
					state = "DEGRADED: " + err.Error()
					if verdict == "ready" {
						verdict = "degraded"
					}
				}
			}
			lines = append(lines, fmt.Sprintf("%s: %s", d.name, state))
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		fmt.Fprintln(w, verdict)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	})
}

// dependencyCollector exports healthcore_dependency_up{dependency}: 1 when it answers, 0
// when not (the alarm on a vendor's outage).
type dependencyCollector struct{ p *Process }

var dependencyUpDesc = prometheus.NewDesc("healthcore_dependency_up",
	"1 when the dependency (database, pix provider, …) answers the process's check, else 0", []string{"dependency"}, nil)

func (c dependencyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- dependencyUpDesc }

func (c dependencyCollector) Collect(ch chan<- prometheus.Metric) {
	for _, d := range c.p.dependencies() {
		up := 1.0
		if d.status(context.Background()) != nil {
			up = 0
		}
		ch <- prometheus.MustNewConstMetric(dependencyUpDesc, prometheus.GaugeValue, up, strings.ReplaceAll(d.name, " ", "_"))
	}
}

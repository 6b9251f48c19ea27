package main

import (
	"sort"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are kept in microseconds, from 1 µs to 2 minutes, three significant digits.
const (
	histMin    = 1
	histMax    = int64(2 * time.Minute / time.Microsecond)
	histDigits = 3
)

// route is what one row of the table counts: requests answered as the action
// expected (or not), and their latencies.
type route struct {
	hist     *hdrhistogram.Histogram
	requests int64
	errors   int64
	// expected counts the answers that are not 2xx but that the action expects (a 304
	// to a conditional read, SLOT_TAKEN to a booking of a slot someone else took).
	expected int64
	first    []string // the first few errors
}

func newRoute() *route { return &route{hist: hdrhistogram.New(histMin, histMax, histDigits)} }

// stats are a worker's routes, late starts and actions, safe for its users to share.
type stats struct {
	mu      sync.Mutex
	routes  map[string]*route
	late    int64
	actions map[string]int64
}

func newStats() *stats { return &stats{routes: map[string]*route{}, actions: map[string]int64{}} }

// add records one request of a route: its latency, and err when the answer was not one
// the action expects (nil) or expected is true for a non-2xx it does expect.
func (s *stats) add(name string, d time.Duration, expected bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.routes[name]
	if r == nil {
		r = newRoute()
		s.routes[name] = r
	}
	r.requests++
	_ = r.hist.RecordValue(min(max(d.Microseconds(), histMin), histMax))
	if expected {
		r.expected++
	}
	if err != nil {
		r.errors++
		if len(r.first) < 3 {
			r.first = append(r.first, err.Error())
		}
	}
}

func (s *stats) action(name string, late bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.actions[name]++
	if late {
		s.late++
	}
}

// report is what a worker sends the coordinator at the end of a measurement window
// (one JSON line on its standard output).
type report struct {
	Worker  int                    `json:"worker"`
	Users   int                    `json:"users"`
	Routes  map[string]routeReport `json:"routes"`
	Late    int64                  `json:"late"`
	Actions map[string]int64       `json:"actions"`
}

type routeReport struct {
	Requests  int64                  `json:"requests"`
	Errors    int64                  `json:"errors"`
	Expected  int64                  `json:"expected"`
	FirstErrs []string               `json:"firstErrors,omitempty"`
	Histogram *hdrhistogram.Snapshot `json:"histogram"`
}

func (s *stats) report(worker, users int) report {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := report{Worker: worker, Users: users, Routes: map[string]routeReport{}, Late: s.late, Actions: map[string]int64{}}
	for name, r := range s.routes {
		out.Routes[name] = routeReport{Requests: r.requests, Errors: r.errors, Expected: r.expected, FirstErrs: r.first, Histogram: r.hist.Export()}
	}
	for k, v := range s.actions {
		out.Actions[k] = v
	}
	return out
}

// merged is the sum of every worker's report for one step.
type merged struct {
	routes  map[string]*route
	late    int64
	actions map[string]int64
}

func merge(reports []report) *merged {
	m := &merged{routes: map[string]*route{}, actions: map[string]int64{}}
	for _, rep := range reports {
		for name, rr := range rep.Routes {
			r := m.routes[name]
			if r == nil {
				r = newRoute()
				m.routes[name] = r
			}
			r.requests += rr.Requests
			r.errors += rr.Errors
			r.expected += rr.Expected
			if len(r.first) < 3 {
				r.first = append(r.first, rr.FirstErrs...)
			}
			if rr.Histogram != nil {
				r.hist.Merge(hdrhistogram.Import(rr.Histogram))
			}
		}
		m.late += rep.Late
		for k, v := range rep.Actions {
			m.actions[k] += v
		}
	}
	return m
}

// overall is every route together (the time-to-QR row is not a request and stays out).
func (m *merged) overall() *route {
	all := newRoute()
	for name, r := range m.routes {
		if name == routeTimeToQR {
			continue
		}
		all.requests += r.requests
		all.errors += r.errors
		all.expected += r.expected
		all.hist.Merge(r.hist)
	}
	return all
}

func (m *merged) names() []string {
	var out []string
	for name := range m.routes {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

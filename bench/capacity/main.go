// Command capacity turns one step of `go run ./bench/users -results-json F` into a
// capacity model: from the measured requests per user and CPU per request of every
// process, the pods of each service and of the gateway, and the PostgreSQL instance, for
// the numbers of simultaneous users asked, with the headroom of the HPA's target.
//
//	go run ./bench/capacity -results users.json -users 20000,200000
//
// The model's assumptions are printed with it (README, "Capacity").
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// step is the part of bench/users' JSON results the model reads.
type step struct {
	Users   int `json:"users"`
	Overall struct {
		Requests  int64   `json:"requests"`
		PerSecond float64 `json:"perSecond"`
		Errors    int64   `json:"errors"`
	} `json:"overall"`
	Processes []struct {
		Name      string  `json:"name"`
		CPUPerReq float64 `json:"cpuMsPerRequest"`
		RSSMiB    float64 `json:"rssMiB"`
	} `json:"processes"`
}

// params are the deployment's choices the model takes as given.
type params struct {
	podCPU      float64 // vCPUs one pod may use (its CPU limit)
	target      float64 // the HPA's CPU target: the share of podCPU a pod runs at
	minPods     int     // the fewest pods of a Deployment (one per availability zone)
	connsPerPod int     // -db-max-conns of a service pod
	dbTarget    float64 // the share of the database's vCPUs the model lets it use
	cpuFactor   float64 // a production vCPU's work relative to one core of the measuring machine
}

// plan is the model's answer for one number of users.
type plan struct {
	users       int
	rate        float64 // requests per second
	cores       map[string]float64
	pods        map[string]int
	dbCores     float64
	dbClass     string
	clientConns int // connections the service pods may open (RDS Proxy's client side)
}

// rdsClasses are memory-optimised Graviton classes and their vCPUs, smallest first.
var rdsClasses = []struct {
	name  string
	vcpus int
}{
	{"db.r6g.large", 2}, {"db.r6g.xlarge", 4}, {"db.r6g.2xlarge", 8}, {"db.r6g.4xlarge", 16},
	{"db.r6g.8xlarge", 32}, {"db.r6g.12xlarge", 48}, {"db.r6g.16xlarge", 64},
}

// dbServices are the processes that own a schema and open a pool.
var dbServices = []string{"identity", "directory", "scheduling", "payments", "records", "telehealth", "notifications", "keys"}

func model(s step, users int, p params) plan {
	perUser := s.Overall.PerSecond / float64(s.Users)
	out := plan{users: users, rate: perUser * float64(users), cores: map[string]float64{}, pods: map[string]int{}}
	for _, pr := range s.Processes {
		name := pr.Name
		switch {
		case strings.HasPrefix(name, "load-"), name == "total", name == "postgres, this database":
			continue
		case strings.HasPrefix(name, "gateway-"):
			name = "gateway"
		case name == "postgres":
			out.dbCores = out.rate * pr.CPUPerReq / 1000 / p.cpuFactor
			continue
		}
		out.cores[name] += out.rate * pr.CPUPerReq / 1000 / p.cpuFactor
	}
	for name, c := range out.cores {
		n := max(p.minPods, int(math.Ceil(c/(p.podCPU*p.target))))
		out.pods[name] = n
		if slices.Contains(dbServices, name) {
			out.clientConns += n * p.connsPerPod
		}
	}
	out.dbClass = "more than " + rdsClasses[len(rdsClasses)-1].name + ": split the reads (replicas) or the schemas"
	for _, c := range rdsClasses {
		if out.dbCores <= float64(c.vcpus)*p.dbTarget {
			out.dbClass = c.name
			break
		}
	}
	return out
}

func main() {
	var results, usersList string
	var at int
	p := params{}
	flag.StringVar(&results, "results", "", "bench/users -results-json file")
	flag.IntVar(&at, "step", 0, "the step (users) whose figures to use; 0: the largest step without errors")
	flag.StringVar(&usersList, "users", "20000,200000", "simultaneous users to plan for, comma-separated")
	flag.Float64Var(&p.podCPU, "pod-cpu", 1, "vCPUs one pod may use (its CPU limit)")
	flag.Float64Var(&p.target, "target", 0.6, "the HPA's CPU target: the share of -pod-cpu a pod runs at (the rest is headroom for a burst and a lost zone)")
	flag.IntVar(&p.minPods, "min-pods", 2, "fewest pods of each Deployment")
	flag.IntVar(&p.connsPerPod, "conns-per-pod", 4, "-db-max-conns of each service pod")
	flag.Float64Var(&p.dbTarget, "db-target", 0.5, "share of the database's vCPUs the plan uses at peak")
	flag.Float64Var(&p.cpuFactor, "cpu-factor", 1, "a production vCPU's work relative to one core of the measuring machine")
	flag.Parse()
	if err := run(os.Stdout, results, usersList, at, p); err != nil {
		fmt.Fprintln(os.Stderr, "capacity:", err)
		os.Exit(1)
	}
}

func run(w io.Writer, results, usersList string, at int, p params) error {
	if results == "" {
		return errors.New("-results is required (a bench/users -results-json file)")
	}
	b, err := os.ReadFile(results)
	if err != nil {
		return err
	}
	var steps []step
	if err := json.Unmarshal(b, &steps); err != nil {
		return fmt.Errorf("%s: %w", results, err)
	}
	s, err := pick(steps, at)
	if err != nil {
		return err
	}
	var plans []plan
	for f := range strings.SplitSeq(usersList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-users: %q is not a positive number", f)
		}
		plans = append(plans, model(s, n, p))
	}
	report(w, s, plans, p)
	return nil
}

func pick(steps []step, at int) (step, error) {
	var best *step
	for i := range steps {
		s := &steps[i]
		if at > 0 && s.Users == at || at == 0 && s.Overall.Errors == 0 && (best == nil || s.Users > best.Users) {
			best = s
		}
	}
	if best == nil || best.Users == 0 || best.Overall.PerSecond == 0 {
		return step{}, errors.New("no step to model (none with that many users, or every step had errors)")
	}
	return *best, nil
}

func report(w io.Writer, s step, plans []plan, p params) {
	fmt.Fprintf(w, "From the %d-user step: %.4f requests/s per user; pods of %g vCPU at a %.0f %% target, at least %d; database at %.0f %% of its vCPUs.\n\n",
		s.Users, s.Overall.PerSecond/float64(s.Users), p.podCPU, p.target*100, p.minPods, p.dbTarget*100)
	fmt.Fprint(w, "| Deployment |")
	for _, pl := range plans {
		fmt.Fprintf(w, " %d users: vCPU | pods |", pl.users)
	}
	fmt.Fprint(w, "\n|---|")
	for range plans {
		fmt.Fprint(w, "---:|---:|")
	}
	fmt.Fprintln(w)
	var names []string
	for name := range plans[0].cores {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int { return compare(plans[0].cores[b], plans[0].cores[a], a, b) })
	for _, name := range names {
		fmt.Fprintf(w, "| %s |", name)
		for _, pl := range plans {
			fmt.Fprintf(w, " %.2f | %d |", pl.cores[name], pl.pods[name])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "| **requests/s** |")
	for _, pl := range plans {
		fmt.Fprintf(w, " %.0f | |", pl.rate)
	}
	fmt.Fprint(w, "\n| **PostgreSQL** |")
	for _, pl := range plans {
		fmt.Fprintf(w, " %.2f | %s |", pl.dbCores, pl.dbClass)
	}
	fmt.Fprint(w, "\n| **pool connections (RDS Proxy's clients)** |")
	for _, pl := range plans {
		fmt.Fprintf(w, " | %d |", pl.clientConns)
	}
	fmt.Fprintln(w)
}

func compare(x, y float64, a, b string) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return strings.Compare(a, b)
}

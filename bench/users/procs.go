package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is the unit of /proc CPU times (USER_HZ), 100 on every Linux platform Go
// supports.
const clockTick = 10 * time.Millisecond

// procSample is what /proc tells of one process (or, for PostgreSQL, of every server
// process together) at one instant.
type procSample struct {
	cpu   time.Duration // user + system time so far
	rssKB int64         // VmRSS (PostgreSQL: RssAnon, its private memory, summed)
	fds   int
	count int // processes summed
}

// sampleProc reads /proc/<pid>/stat, status and fd.
func sampleProc(pid int, anon bool) procSample {
	dir := "/proc/" + strconv.Itoa(pid)
	s := procSample{count: 1}
	if b, err := os.ReadFile(dir + "/stat"); err == nil {
		// The command name is in parentheses and may hold spaces: count fields after it.
		if i := bytes.LastIndexByte(b, ')'); i >= 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) >= 13 {
				utime, _ := strconv.ParseInt(f[11], 10, 64)
				stime, _ := strconv.ParseInt(f[12], 10, 64)
				s.cpu = time.Duration(utime+stime) * clockTick
			}
		}
	}
	if b, err := os.ReadFile(dir + "/status"); err == nil {
		key := "VmRSS:"
		if anon {
			key = "RssAnon:"
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, key); ok {
				f := strings.Fields(rest)
				if len(f) > 0 {
					s.rssKB, _ = strconv.ParseInt(f[0], 10, 64)
				}
			}
		}
	}
	if ents, err := os.ReadDir(dir + "/fd"); err == nil {
		s.fds = len(ents)
	}
	return s
}

// postgresPIDs are the processes named postgres (the server and its backends: all of
// the machine's, whichever database they serve).
func postgresPIDs() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/comm"); err == nil && strings.TrimSpace(string(b)) == "postgres" {
			out = append(out, pid)
		}
	}
	return out
}

// snapshot samples every named process, and PostgreSQL's processes summed by pid (a
// backend that starts between two snapshots counts whole; one that ends is lost).
type snapshot struct {
	at       time.Time
	procs    map[string]procSample
	postgres map[int]procSample
	own      map[int]bool // the backends of the benchmark's database
	loadavg  string
}

func takeSnapshot(pids map[string]int, own []int) snapshot {
	s := snapshot{at: time.Now(), procs: map[string]procSample{}, postgres: map[int]procSample{}, own: map[int]bool{}}
	for _, pid := range own {
		s.own[pid] = true
	}
	for name, pid := range pids {
		s.procs[name] = sampleProc(pid, false)
	}
	for _, pid := range postgresPIDs() {
		s.postgres[pid] = sampleProc(pid, true)
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		s.loadavg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return s
}

// procRow is one process's share of a step: CPU used in the window, memory and
// descriptors at its end.
type procRow struct {
	Name      string  `json:"name"`
	CPUSec    float64 `json:"cpuSeconds"`
	CPUPerReq float64 `json:"cpuMsPerRequest"`
	RSSMiB    float64 `json:"rssMiB"`
	FDs       int     `json:"openFDs"`
	Processes int     `json:"processes,omitempty"`
}

// procRows compares two snapshots; requests is the step's measured request count.
func procRows(start, end snapshot, names []string, requests int64) []procRow {
	per := func(d time.Duration) float64 {
		if requests == 0 {
			return 0
		}
		return float64(d.Microseconds()) / 1000 / float64(requests)
	}
	var rows []procRow
	var total time.Duration
	for _, name := range names {
		e, ok := end.procs[name]
		if !ok {
			continue
		}
		d := e.cpu - start.procs[name].cpu
		total += d
		rows = append(rows, procRow{Name: name, CPUSec: d.Seconds(), CPUPerReq: per(d), RSSMiB: float64(e.rssKB) / 1024, FDs: e.fds})
	}
	var pg procSample
	var pgCPU time.Duration
	for pid, e := range end.postgres {
		pgCPU += e.cpu - start.postgres[pid].cpu
		pg.rssKB += e.rssKB
		pg.fds += e.fds
		pg.count++
	}
	total += pgCPU
	// The backends serving the benchmark's database (known at both ends of the
	// window): the share of PostgreSQL that other databases' work on the machine does
	// not blur.
	var ownCPU time.Duration
	var own procSample
	for pid, e := range end.postgres {
		if end.own[pid] && start.own[pid] {
			ownCPU += e.cpu - start.postgres[pid].cpu
			own.rssKB += e.rssKB
			own.fds += e.fds
			own.count++
		}
	}
	rows = append(rows, procRow{Name: "postgres, this database", CPUSec: ownCPU.Seconds(), CPUPerReq: per(ownCPU),
		RSSMiB: float64(own.rssKB) / 1024, FDs: own.fds, Processes: own.count})
	rows = append(rows, procRow{Name: "postgres", CPUSec: pgCPU.Seconds(), CPUPerReq: per(pgCPU),
		RSSMiB: float64(pg.rssKB) / 1024, FDs: pg.fds, Processes: pg.count})
	rows = append(rows, procRow{Name: "total", CPUSec: total.Seconds(), CPUPerReq: per(total)})
	return rows
}

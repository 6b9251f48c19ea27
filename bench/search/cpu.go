package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is the unit of /proc CPU times (USER_HZ), 100 on every Linux platform Go
// supports.
const clockTick = 10 * time.Millisecond

// cpuSample is CPU time used so far: by this process, by each child, and by the whole
// machine (busy and total, from /proc/stat). Fields stay zero where /proc is missing.
type cpuSample struct {
	self        time.Duration
	children    map[string]time.Duration
	rssKB       map[string]int64      // each child's resident memory (VmRSS)
	postgres    map[int]time.Duration // by backend process id
	busy, total time.Duration
	at          time.Time
}

func sampleCPU(children map[string]int, backends []int) cpuSample {
	s := cpuSample{children: map[string]time.Duration{}, rssKB: map[string]int64{}, postgres: map[int]time.Duration{}, at: time.Now()}
	for _, pid := range backends {
		s.postgres[pid] = processCPU(pid)
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for name, pid := range children {
		s.children[name] = processCPU(pid)
		s.rssKB[name] = processRSS(pid)
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := bytes.Cut(b, []byte("\n"))
		f := strings.Fields(string(line))
		for i, v := range f[1:] {
			n, _ := strconv.ParseInt(v, 10, 64)
			d := time.Duration(n) * clockTick
			if i < 8 { // user … steal; guest time is already inside user
				s.total += d
				if i != 3 && i != 4 { // idle, iowait
					s.busy += d
				}
			}
		}
	}
	return s
}

// processCPU is the user + system time of a process, from /proc/<pid>/stat.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name is in parentheses and may hold spaces: count fields after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * clockTick
}

// postgresCPU is the CPU time the backends of end used since start; a backend that
// started meanwhile counts whole.
func postgresCPU(start, end cpuSample) time.Duration {
	var d time.Duration
	for pid, t := range end.postgres {
		d += t - start.postgres[pid]
	}
	return d
}

// processRSS is a process's resident memory in KiB, from /proc/<pid>/status.
func processRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb
			}
		}
	}
	return 0
}

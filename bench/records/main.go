// Command records is the document benchmark of the records issue: one patient uploads
// and downloads PDF documents of 1 MiB and 50 MiB through the REST gateway of a
// multi-process deployment. It prints the throughput of each operation and the memory
// of the serve and gateway processes: flat memory means their peak RSS does not grow
// with the file size.
//
//	go run ./bench/records                        # 5 rounds of 1 MiB and 50 MiB
//	go run ./bench/records -rounds 3 -sizes 1MiB,10MiB,50MiB
//
// It drops and recreates the database healthcore_bench_records on the server of
// -database-url on every run; the services migrate their schemas there. The bodies are
// generated and hashed while they stream, so the benchmark itself holds no document in
// memory. All traffic stays on 127.0.0.1.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"healthcore/bench/load"
	"healthcore/bench/stack"
	"healthcore/platform/pg"
)

// benchDatabase is the database the benchmark owns on the server.
const benchDatabase = "healthcore_bench_records"

// pdfHeader opens every generated body, so the records service sniffs it as a PDF.
const pdfHeader = "%PDF-1.7\n"

// seed is the fixed seed of the generated bodies (each round adds its index).
const seed = 20261120

type options struct {
	serverURL string
	rounds    int
	sizes     []int64
	logLevel  string
	timeout   time.Duration
}

func main() {
	def := load.DefaultServerURL()
	var o options
	var sizes string
	flag.StringVar(&o.serverURL, "database-url", def, "PostgreSQL server (its database name is replaced by "+benchDatabase+")")
	flag.IntVar(&o.rounds, "rounds", 5, "uploads (and downloads) of each size")
	flag.StringVar(&sizes, "sizes", "1MiB,50MiB", "document sizes, comma-separated (B, KiB, MiB or GiB)")
	flag.StringVar(&o.logLevel, "log-level", "warn", "log level of the healthcore processes (their logs go to a temporary file)")
	flag.DurationVar(&o.timeout, "timeout", 15*time.Minute, "limit of the whole run")
	flag.Parse()
	var err error
	if o.sizes, err = parseSizes(sizes); err != nil || o.rounds < 1 || o.timeout <= 0 {
		fmt.Fprintln(os.Stderr, "records: -rounds and -timeout must be positive and -sizes a list like 1MiB,50MiB", err)
		os.Exit(2)
	}
	load.Main("records", func(ctx context.Context) error {
		ctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		return run(ctx, o)
	})
}

func parseSizes(s string) ([]int64, error) {
	var out []int64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mult := int64(1)
		for _, u := range []struct {
			suffix string
			mult   int64
		}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
			if strings.HasSuffix(f, u.suffix) {
				f, mult = strings.TrimSuffix(f, u.suffix), u.mult
				break
			}
		}
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n <= 0 || n*mult <= int64(len(pdfHeader)) {
			return nil, fmt.Errorf("bad size %q", s)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

func run(ctx context.Context, o options) error {
	dbURL, err := pg.WithDatabase(o.serverURL, benchDatabase)
	if err != nil {
		return err
	}
	fmt.Printf("records document benchmark: %d rounds of each size %s, sequential, through the REST gateway\n", o.rounds, sizeList(o.sizes))
	fmt.Printf("database %s (dropped and recreated)\n", pg.RedactURL(dbURL))
	if err := load.RecreateDatabase(ctx, dbURL); err != nil {
		return err
	}
	st, err := stack.Start(ctx, dbURL, o.logLevel)
	if err != nil {
		return err
	}
	err = bench(ctx, st, o)
	if stopErr := st.Stop(); err == nil {
		err = stopErr
	}
	return err
}

// stat is one size's figures of one operation.
type stat struct {
	size   int64
	op     string
	rates  []float64 // MB/s of each successful operation
	errors int
	first  string
}

func (s *stat) fail(err error) {
	s.errors++
	if s.first == "" {
		s.first = err.Error()
	}
}

// memory is a process's VmHWM and VmRSS in KiB; ok is false without /proc.
type memory struct {
	hwm, rss int64
	ok       bool
}

func bench(ctx context.Context, st *stack.Stack, o options) error {
	client := &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2}, Timeout: 5 * time.Minute}
	token, err := patient(ctx, client, st.Gateway)
	if err != nil {
		return err
	}
	pids := st.PIDs()
	procs := []string{"serve", "gateway"}
	snap := func() map[string]memory {
		m := map[string]memory{}
		for _, p := range procs {
			m[p] = readMemory(pids[p])
		}
		return m
	}
	before := snap()
	after := make([]map[string]memory, len(o.sizes))
	var stats []*stat
	fmt.Println()
	for i, size := range o.sizes {
		up, down := &stat{size: size, op: "upload"}, &stat{size: size, op: "download"}
		stats = append(stats, up, down)
		type doc struct {
			id  string
			sum [32]byte
		}
		var docs []doc
		for r := range o.rounds {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			start := time.Now()
			id, sum, err := upload(ctx, client, st.Gateway, token, size, uint64(seed+r), fmt.Sprintf("bench %s #%d", human(size), r+1))
			if err != nil {
				up.fail(err)
				continue
			}
			up.rates = append(up.rates, float64(size)/1e6/time.Since(start).Seconds())
			docs = append(docs, doc{id, sum})
		}
		for _, d := range docs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			start := time.Now()
			if err := download(ctx, client, st.Gateway, token, d.id, size, d.sum); err != nil {
				down.fail(err)
				continue
			}
			down.rates = append(down.rates, float64(size)/1e6/time.Since(start).Seconds())
		}
		after[i] = snap()
		fmt.Printf("%s phase done: upload %d/%d, download %d/%d\n", human(size), len(up.rates), o.rounds, len(down.rates), len(docs))
	}
	end := snap()

	fmt.Printf("\nMB/s = 10^6 bytes per second of wall time of one request (sent or read in full, SHA-256 checked)\n")
	fmt.Printf("%-8s %-9s %7s %30s %7s\n", "size", "op", "rounds", "MB/s mean (min–max)", "errors")
	failed := 0
	for _, s := range stats {
		fmt.Printf("%-8s %-9s %7d %30s %7d\n", human(s.size), s.op, len(s.rates)+s.errors, rateCell(s.rates), s.errors)
		failed += s.errors
	}
	for _, s := range stats {
		if s.first != "" {
			fmt.Printf("first %s %s error: %s\n", human(s.size), s.op, s.first)
		}
	}

	fmt.Printf("\nmemory of the healthcore processes, from /proc/<pid>/status (VmHWM is the peak RSS so far)\n")
	header := fmt.Sprintf("%-8s %16s", "process", "VmHWM before")
	for _, size := range o.sizes {
		header += fmt.Sprintf(" %22s", "VmHWM after "+human(size))
	}
	fmt.Println(header + fmt.Sprintf(" %16s", "VmRSS at end"))
	for _, p := range procs {
		line := fmt.Sprintf("%-8s %16s", p, kib(before[p], true))
		for i := range o.sizes {
			line += fmt.Sprintf(" %22s", kib(after[i][p], true))
		}
		fmt.Println(line + fmt.Sprintf(" %16s", kib(end[p], false)))
	}
	if n := len(o.sizes); n >= 2 {
		for _, p := range procs {
			a, b := after[n-2][p], after[n-1][p]
			if !a.ok || !b.ok {
				continue
			}
			grow := float64(b.hwm-a.hwm) / 1024
			fmt.Printf("%s: the %s phase raised the peak RSS by %.1f MiB over the %s phase\n",
				p, human(o.sizes[n-1]), grow, human(o.sizes[n-2]))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d operations failed", failed)
	}
	return nil
}

func rateCell(r []float64) string {
	if len(r) == 0 {
		return "–"
	}
	lo, hi, sum := r[0], r[0], 0.0
	for _, v := range r {
		lo, hi, sum = min(lo, v), max(hi, v), sum+v
	}
	return fmt.Sprintf("%.1f (%.1f–%.1f)", sum/float64(len(r)), lo, hi)
}

func readMemory(pid int) memory {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}
	}
	var m memory
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch {
		case err != nil:
		case k == "VmHWM":
			m.hwm = n
		case k == "VmRSS":
			m.rss, m.ok = n, true
		}
	}
	return m
}

func kib(m memory, hwm bool) string {
	if !m.ok {
		return "n/a"
	}
	v := m.rss
	if hwm {
		v = m.hwm
	}
	return fmt.Sprintf("%.1f MiB", float64(v)/1024)
}

func human(n int64) string {
	switch {
	case n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}

func sizeList(sizes []int64) string {
	var s []string
	for _, n := range sizes {
		s = append(s, human(n))
	}
	return strings.Join(s, ", ")
}

// patient registers one patient and returns its access token.
func patient(ctx context.Context, client *http.Client, base string) (string, error) {
	body := map[string]string{"name": "Maria da Silva", "email": "maria.bench@example.com", "cpf": "529.982.247-25",
		"password": "correct horse battery", "phone": "+5511987654321", "birthDate": "1985-04-12"}
	if err := postJSON(ctx, client, base+"/v1/accounts/patients", body, nil); err != nil {
		return "", fmt.Errorf("register patient: %w", err)
	}
	var login struct {
		Tokens struct {
			AccessToken string `json:"accessToken"`
		} `json:"tokens"`
	}
	if err := postJSON(ctx, client, base+"/v1/auth/login", map[string]string{"email": body["email"], "password": body["password"]}, &login); err != nil {
		return "", fmt.Errorf("log in: %w", err)
	}
	if login.Tokens.AccessToken == "" {
		return "", errors.New("log in: no access token")
	}
	return login.Tokens.AccessToken, nil
}

func postJSON(ctx context.Context, client *http.Client, u string, in, out any) error {
	b, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// body generates a document of n bytes: the PDF header, then ChaCha8 bytes of the seed.
func body(n int64, seed uint64) io.Reader {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	return io.LimitReader(io.MultiReader(strings.NewReader(pdfHeader), rand.NewChaCha8(key)), n)
}

// upload streams a generated document up and returns its id and the SHA-256 of what
// was sent.
func upload(ctx context.Context, client *http.Client, base, token string, size int64, seed uint64, title string) (string, [32]byte, error) {
	var sum [32]byte
	h := sha256.New()
	q := url.Values{"title": {title}, "kind": {"EXAM"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/records/documents:upload?"+q.Encode(), io.TeeReader(body(size, seed), h))
	if err != nil {
		return "", sum, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/pdf")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "", sum, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return "", sum, fmt.Errorf("upload: %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	var out struct {
		Document struct {
			ID string `json:"id"`
		} `json:"document"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Document.ID == "" {
		return "", sum, fmt.Errorf("upload: no document id in %q", raw)
	}
	copy(sum[:], h.Sum(nil))
	return out.Document.ID, sum, nil
}

// download streams a document down, checking its size and SHA-256.
func download(ctx context.Context, client *http.Client, base, token, id string, size int64, want [32]byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/records/documents/"+url.PathEscape(id)+":download", nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return fmt.Errorf("download: %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	if err != nil {
		return fmt.Errorf("download: after %d bytes: %w", n, err)
	}
	if n != size {
		return fmt.Errorf("download: %d bytes, want %d", n, size)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want[:]) {
		return fmt.Errorf("download: SHA-256 %s, want %s", hex.EncodeToString(got), hex.EncodeToString(want[:]))
	}
	return nil
}

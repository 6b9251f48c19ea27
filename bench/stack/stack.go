// Package stack starts the platform as the benchmarks measure it: every service and
// the gateway as separate processes of the healthcore binary, on loopback ports.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"healthcore/internal/catalog"
	"healthcore/platform/authn"
)

// Stack is a deployment on loopback: the services in one process, the gateway in
// another, both built from cmd/healthcore.
type Stack struct {
	Gateway string // base URL of the REST edge (the first gateway's)
	// Gateways are the base URLs of every gateway process (one, but for StartProcesses).
	Gateways []string
	Sandbox  string // base URL of the PIX sandbox (its dev approve/reject routes)
	// Ops is the base URL of each child's ops listener, by child name (PIDs), which
	// serves its metrics and its profiler.
	Ops     map[string]string
	dir     string
	bin     string   // the healthcore binary built for this stack
	common  []string // the flags every child and command of this deployment takes
	procs   []*child
	env     []string // added to the environment of every child
	once    sync.Once
	stopErr error
}

type child struct {
	name string
	cmd  *exec.Cmd
	log  string // file holding its output
	done chan error
}

// Start builds healthcore and starts "serve <services>" and "gateway" on free
// loopback ports, then waits until the gateway is ready. serveFlags go to the serve
// process (e.g. to lift a limit a benchmark would hit).
func Start(ctx context.Context, dbURL, logLevel string, serveFlags ...string) (*Stack, error) {
	return StartWith(ctx, dbURL, logLevel, nil, serveFlags...)
}

// StartWith is Start giving both processes the flags in all as well (TraceSink.Flags).
func StartWith(ctx context.Context, dbURL, logLevel string, all []string, serveFlags ...string) (*Stack, error) {
	s, l, err := prepare(ctx, dbURL, logLevel, "", all)
	if err != nil {
		return nil, err
	}
	s.Gateway = l.Gateway
	s.Gateways = []string{l.Gateway}
	for _, args := range [][]string{
		// Every benchmark client registers from loopback, hundreds of accounts at a time.
		append(append(append(append(append(append([]string{"serve"}, catalog.Names()...), s.common...), catalog.DevDriverFlags()...), s.opsFlags("serve", l.Ops["serve"])...),
			"-identity.register-per-address=1000000"), serveFlags...),
		append(append([]string{"gateway", "-gateway.addr=" + l.GatewayAddr}, s.common...), s.opsFlags("gateway", l.Ops["gateway"])...),
	} {
		if err := s.spawn(args[0], s.bin, args...); err != nil {
			s.Stop()
			return nil, err
		}
	}
	if err := s.waitReady(ctx, time.Minute); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// prepare builds healthcore, writes the service keys and places the stack on loopback
// ports: what every layout shares. dataDir "" is a temporary folder.
func prepare(ctx context.Context, dbURL, logLevel, dataDir string, all []string) (*Stack, *catalog.Loopback, error) {
	dir, err := os.MkdirTemp("", "healthcore-bench")
	if err != nil {
		return nil, nil, err
	}
	s := &Stack{dir: dir, Ops: map[string]string{}}
	bin := filepath.Join(dir, "healthcore")
	fmt.Println("building cmd/healthcore …")
	buildCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(buildCtx, "go", "build", "-o", bin, "healthcore/cmd/healthcore").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, nil, fmt.Errorf("build healthcore: %w\n%s", err, out)
	}
	keysDir := filepath.Join(dir, "service-keys")
	if err := authn.WriteServiceKeys(keysDir, catalog.Names()); err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	l, err := catalog.NewLoopback()
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	s.Sandbox = l.Sandbox
	if dataDir == "" {
		dataDir = filepath.Join(dir, "data")
	}
	// Without TLS, as behind a mesh that terminates it (the services prove who they are
	// by their token keys): the numbers stay comparable with earlier runs, and one
	// process serving every service would need one certificate naming them all.
	common := append([]string{"-database-url=" + dbURL, "-service-keys=" + keysDir, "-insecure-transport",
		"-data-dir=" + dataDir, "-log-level=" + logLevel, "-trusted-proxies=127.0.0.0/8,::1/128"}, l.Flags...)
	s.bin, s.common = bin, append(common, all...)
	return s, l, nil
}

// opsFlags give the child name an ops listener of its own at addr, with the profiler.
func (s *Stack) opsFlags(name, addr string) []string {
	s.Ops[name] = "http://" + addr
	return []string{"-ops-addr=" + addr, "-pprof"}
}

// CreateAdmin creates an operator account as a deployment does, with `healthcore
// create-admin` against this stack's database and keys service (the command calls keys
// as identity, by identity's service key): the benchmarks' doctors are verified by an
// operator over REST, and operators are made only this way.
func (s *Stack) CreateAdmin(ctx context.Context, name, email, password string) error {
	cmd := exec.CommandContext(ctx, s.bin, append([]string{"create-admin", "-name=" + name, "-email=" + email}, s.common...)...)
	cmd.Env = append(os.Environ(), "HEALTHCORE_ADMIN_PASSWORD="+password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("create-admin %s: %w\n%s", email, err, out)
	}
	return nil
}

// PIDs names the children's process ids: "serve" and "gateway" (Start), or each
// service by name and "gateway-1" … "gateway-N" (StartProcesses).
func (s *Stack) PIDs() map[string]int {
	out := map[string]int{}
	for _, c := range s.procs {
		out[c.name] = c.cmd.Process.Pid
	}
	return out
}

func (s *Stack) spawn(name, bin string, args ...string) error {
	c := &child{name: name, log: filepath.Join(s.dir, name+".log"), done: make(chan error, 1)}
	f, err := os.Create(c.log)
	if err != nil {
		return err
	}
	c.cmd = exec.Command(bin, args...)
	c.cmd.Stdout, c.cmd.Stderr = f, f
	if len(s.env) > 0 {
		c.cmd.Env = append(os.Environ(), s.env...)
	}
	if err := c.cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start healthcore %s: %w", c.name, err)
	}
	go func() {
		c.done <- c.cmd.Wait()
		f.Close()
	}()
	s.procs = append(s.procs, c)
	return nil
}

// waitReady polls /readyz; a child that exits meanwhile fails it at once.
func (s *Stack) waitReady(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 3 * time.Second}
	for time.Now().Before(deadline) {
		for _, c := range s.procs {
			select {
			case err := <-c.done:
				c.done <- err
				return fmt.Errorf("healthcore %s exited (%v) before the stack was ready:\n%s", c.name, err, tail(c.log))
			default:
			}
		}
		ready := 0
		for _, g := range s.Gateways {
			resp, err := client.Get(g + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ready++
				}
			}
		}
		if ready == len(s.Gateways) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	var logs []string
	for _, c := range s.procs {
		logs = append(logs, "---- "+c.name+" ----\n"+tail(c.log))
	}
	return fmt.Errorf("the stack was not ready within %s:\n%s", limit, strings.Join(logs, "\n"))
}

// Stop sends SIGTERM to every child (gateway first) and waits for each to exit
// cleanly, killing one that takes more than 30 s. It runs once; later calls return
// the first answer.
func (s *Stack) Stop() error {
	s.once.Do(func() {
		var errs []error
		for i := len(s.procs) - 1; i >= 0; i-- {
			c := s.procs[i]
			_ = c.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case err := <-c.done:
				if err != nil {
					errs = append(errs, fmt.Errorf("healthcore %s exited with %v:\n%s", c.name, err, tail(c.log)))
				}
			case <-time.After(30 * time.Second):
				_ = c.cmd.Process.Kill()
				<-c.done
				errs = append(errs, fmt.Errorf("healthcore %s did not stop within 30s of SIGTERM", c.name))
			}
		}
		os.RemoveAll(s.dir)
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// tail is the end of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Profile records a CPU profile of the child name (see PIDs) for d into file.
func (s *Stack) Profile(ctx context.Context, name string, d time.Duration, file string) error {
	return s.record(ctx, name, "profile", d, file)
}

// Trace records an execution trace of the child name for d into file (`go tool trace`;
// `go tool trace -pprof=sched` tells where its goroutines waited for a thread).
func (s *Stack) Trace(ctx context.Context, name string, d time.Duration, file string) error {
	return s.record(ctx, name, "trace", d, file)
}

// record fetches the child's /debug/pprof/<what> over d into file.
func (s *Stack) record(ctx context.Context, name, what string, d time.Duration, file string) error {
	base, ok := s.Ops[name]
	if !ok {
		return fmt.Errorf("no child %q", name)
	}
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/debug/pprof/%s?seconds=%d", base, what, int(d.Seconds())), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: d + 30*time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s of %s: HTTP %d", what, name, resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

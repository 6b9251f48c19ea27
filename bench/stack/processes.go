package stack

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"healthcore/internal/catalog"
)

// Options shape a stack of StartProcesses.
type Options struct {
	LogLevel string
	// Gateways is how many gateway processes to start, each on its own port (default 1).
	Gateways int
	// DBMaxConns is each service's pool size (-db-max-conns; default 4): with one
	// process per service, the server's connections are this times the services that
	// own a schema.
	DBMaxConns int
	// DataDir is the folder of the local drivers' state (the keys service's master
	// key, the blobs' files); "" is a temporary one. A benchmark that keeps its
	// database across runs keeps this folder too: sealed data opens only under the
	// master key that sealed it.
	DataDir string
	// All go to every process; Services to every service process (e.g. a limit a
	// benchmark lifts).
	All, Services []string
	// Gateway go to every gateway process.
	Gateway []string
	// Procs, when not 0, is the GOMAXPROCS of every service and gateway process. In
	// production each pod has a CPU limit (the Helm chart's is one core) and Go sets
	// GOMAXPROCS from it; on a bare machine it would be every core.
	Procs int
}

// StartProcesses builds healthcore and starts every service of the catalog as a
// process of its own ("serve <name>", as in production) and o.Gateways gateway
// processes, each with an ops listener of its own, then waits until every gateway is
// ready. Registration from one address is unlimited, as in Start.
func StartProcesses(ctx context.Context, dbURL string, o Options) (*Stack, error) {
	if o.Gateways < 1 {
		o.Gateways = 1
	}
	if o.DBMaxConns == 0 {
		o.DBMaxConns = 4
	}
	all := append([]string{"-db-max-conns=" + strconv.Itoa(o.DBMaxConns)}, o.All...)
	s, l, err := prepare(ctx, dbURL, o.LogLevel, o.DataDir, all)
	if err != nil {
		return nil, err
	}
	if o.Procs > 0 {
		s.env = []string{"GOMAXPROCS=" + strconv.Itoa(o.Procs)}
	}
	// The first gateway takes the loopback layout's address (the PIX sandbox sends its
	// webhooks there); the others get free ports of their own.
	extra, err := catalog.FreeAddrs(2 * (o.Gateways - 1))
	if err != nil {
		s.Stop()
		return nil, err
	}
	for _, name := range catalog.Names() {
		args := append(append(append(append([]string{"serve", name}, s.common...), catalog.DevDriverFlags()...),
			s.opsFlags(name, l.Ops[name])...), "-identity.register-per-address=1000000")
		if err := s.spawn(name, s.bin, append(args, o.Services...)...); err != nil {
			s.Stop()
			return nil, err
		}
	}
	for i := range o.Gateways {
		addr, ops := l.GatewayAddr, l.Ops["gateway"]
		if i > 0 {
			addr, ops = extra[2*(i-1)], extra[2*(i-1)+1]
		}
		name := fmt.Sprintf("gateway-%d", i+1)
		s.Gateways = append(s.Gateways, "http://"+addr)
		args := append(append([]string{"gateway", "-gateway.addr=" + addr}, s.common...), s.opsFlags(name, ops)...)
		args = append(args, o.Gateway...)
		if err := s.spawn(name, s.bin, args...); err != nil {
			s.Stop()
			return nil, err
		}
	}
	s.Gateway = s.Gateways[0]
	if err := s.waitReady(ctx, 2*time.Minute); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

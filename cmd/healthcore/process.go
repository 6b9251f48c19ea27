package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/gen/healthcore/meetings/v1/meetingsv1connect"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	"healthcore/gen/healthcore/pix/v1/pixv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/gen/healthcore/telehealth/v1/telehealthv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/pg"
	"healthcore/platform/server"
)

// process holds what the services of one OS process share: configuration, logger,
// metrics registry, database pools and clients of other services.
type process struct {
	cfg     *Config
	log     *slog.Logger
	dbURL   string
	reg     *prometheus.Registry
	metrics *server.Metrics
	trusted []netip.Prefix
	client  *http.Client

	mu       sync.Mutex
	pools    []*pgxpool.Pool
	verifier *authn.Verifier
}

func newProcess(cfg *Config, dbURL string) *process {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	trusted, _ := cfg.trustedProxies()
	// Service-to-service calls use HTTP/2 without TLS (h2c): one multiplexed connection
	// per peer. In a cluster, the mesh or network policy provides transport security.
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &process{
		cfg: cfg, log: cfg.logger(), dbURL: dbURL, reg: reg, metrics: server.NewMetrics(reg), trusted: trusted,
		client: &http.Client{Transport: &http.Transport{Protocols: &protocols}, Timeout: 30 * time.Second},
	}
}

// pool opens a connection pool whose search_path is the service's schema.
func (p *process) pool(ctx context.Context, schema string) (*pgxpool.Pool, error) {
	db, err := pg.Open(ctx, p.dbURL, schema, int32(p.cfg.DBMaxConns))
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.pools = append(p.pools, db)
	p.mu.Unlock()
	return db, nil
}

func (p *process) newServer(name string, auth connect.Interceptor) *server.Server {
	return server.New(server.Options{
		Addr: *p.cfg.Addr[name], Logger: p.log.With("service", name), Metrics: p.metrics, Gatherer: p.reg,
		Auth: auth, TrustedProxies: p.trusted, DrainDelay: p.cfg.DrainDelay,
	})
}

// keysClient calls the keys service with the internal service credential.
func (p *process) keysClient() keysv1connect.KeysServiceClient {
	return keysv1connect.NewKeysServiceClient(p.client, *p.cfg.URL["keys"],
		connect.WithGRPC(), connect.WithInterceptors(authn.ServiceToken(p.cfg.ServiceToken)))
}

// blobsClient calls the blobs service with the internal service credential.
func (p *process) blobsClient() blobsv1connect.BlobsServiceClient {
	return blobsv1connect.NewBlobsServiceClient(p.client, *p.cfg.URL["blobs"],
		connect.WithGRPC(), connect.WithInterceptors(authn.ServiceToken(p.cfg.ServiceToken)))
}

// directoryClient calls the directory with the internal service credential.
func (p *process) directoryClient() directoryv1connect.DirectoryServiceClient {
	return directoryv1connect.NewDirectoryServiceClient(p.client, *p.cfg.URL["directory"],
		connect.WithGRPC(), connect.WithInterceptors(authn.ServiceToken(p.cfg.ServiceToken)))
}

// schedulingClient calls scheduling with the internal service credential.
func (p *process) schedulingClient() schedulingv1connect.SchedulingServiceClient {
	return schedulingv1connect.NewSchedulingServiceClient(p.client, *p.cfg.URL["scheduling"],
		connect.WithGRPC(), connect.WithInterceptors(authn.ServiceToken(p.cfg.ServiceToken)))
}

// telehealthClient calls the telehealth service with the internal service credential.
func (p *process) telehealthClient() telehealthv1connect.TelehealthServiceClient {
	return telehealthv1connect.NewTelehealthServiceClient(p.client, *p.cfg.URL["telehealth"],
		connect.WithGRPC(), connect.WithInterceptors(authn.ServiceToken(p.cfg.ServiceToken)))
}

// meetingsClient calls the meetings service with the internal service credential.
func (p *process) meetingsClient() meetingsv1connect.MeetingsServiceClient {
	return meetingsv1connect.NewMeetingsServiceClient(p.client, *p.cfg.URL["meetings"],
		connect.WithGRPC(), connect.WithInterceptors(authn.ServiceToken(p.cfg.ServiceToken)))
}

// pixClient calls the PIX adapter with the internal service credential.
func (p *process) pixClient() pixv1connect.PixServiceClient {
	return pixv1connect.NewPixServiceClient(p.client, *p.cfg.URL["pix"],
		connect.WithGRPC(), connect.WithInterceptors(authn.ServiceToken(p.cfg.ServiceToken)))
}

// paymentsClient calls payments with the internal service credential.
func (p *process) paymentsClient() paymentsv1connect.PaymentsServiceClient {
	return paymentsv1connect.NewPaymentsServiceClient(p.client, *p.cfg.URL["payments"],
		connect.WithGRPC(), connect.WithInterceptors(authn.ServiceToken(p.cfg.ServiceToken)))
}

// payerClient calls identity with the internal service credential (GetPayer).
func (p *process) payerClient() identityv1connect.IdentityServiceClient {
	return identityv1connect.NewIdentityServiceClient(p.client, *p.cfg.URL["identity"],
		connect.WithGRPC(), connect.WithInterceptors(authn.ServiceToken(p.cfg.ServiceToken)))
}

func (p *process) identityClient() identityv1connect.IdentityServiceClient {
	return identityv1connect.NewIdentityServiceClient(p.client, *p.cfg.URL["identity"], connect.WithGRPC())
}

// remoteVerifier verifies user tokens against the JWKS of the identity service; one per
// process, so its key cache is shared.
func (p *process) remoteVerifier() *authn.Verifier {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.verifier == nil {
		p.verifier = authn.NewVerifier(authn.JWKSFromIdentity(p.identityClient()))
	}
	return p.verifier
}

// runServices starts the named services in catalog order, each serving on its own port
// as soon as it is built, and returns when ctx ends (after a graceful stop) or when one
// fails (stopping the others).
func (p *process) runServices(ctx context.Context, names []string, ready func()) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	fail := func(err error) { cancel(err) }
	for _, s := range catalog {
		if !slices.Contains(names, s.name) {
			continue
		}
		srv, bg, err := s.start(ctx, p)
		if err != nil {
			cancel(err)
			wg.Wait()
			return fmt.Errorf("start %s: %w", s.name, err)
		}
		ln, err := srv.Listen()
		if err != nil {
			cancel(err)
			wg.Wait()
			return fmt.Errorf("start %s: %w", s.name, err)
		}
		wg.Go(func() {
			if err := srv.Serve(ctx, ln); err != nil {
				fail(fmt.Errorf("%s: %w", s.name, err))
			}
		})
		if bg != nil {
			wg.Go(func() {
				if err := bg(ctx); err != nil && ctx.Err() == nil {
					fail(fmt.Errorf("%s background: %w", s.name, err))
				}
			})
		}
	}
	if ready != nil {
		ready()
	}
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

func (p *process) close() {
	for _, db := range p.pools {
		db.Close()
	}
}

// schemas returns the schemas of the named services.
func schemas(names []string) []pg.Schema {
	var out []pg.Schema
	for _, s := range catalog {
		if s.schema != nil && slices.Contains(names, s.name) {
			out = append(out, *s.schema)
		}
	}
	return out
}

func allNames() []string {
	var out []string
	for _, s := range catalog {
		out = append(out, s.name)
	}
	return out
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"

	"healthcore/internal/catalog"
	"healthcore/partneredge"
	"healthcore/platform/config"
	"healthcore/platform/pg"
)

// runPartnerEdge runs the partner edge alone: the public gRPC listener of partner
// clinics, dialing the services' URLs with its own certificate, writing its call log
// to its schema.
func runPartnerEdge(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("partner-edge", flag.ContinueOnError)
	cfg := catalog.NewConfig(fs, false)
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	// The edge dials the services over mTLS with its own certificate
	// (spiffe://healthcore/partner-edge), which no internal method admits.
	if err := cfg.OpenTLS(true); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("-database-url (DATABASE_URL) is required: the partner edge writes its call log")
	}
	if cfg.PartnerEdge.CallLogSecret == "" {
		return fmt.Errorf("-partner-edge.call-log-secret (%s) is required: the file of the call log's chain secret (healthcore dev-certs writes one)",
			config.EnvName("partner-edge.call-log-secret"))
	}
	if err := pg.Migrate(ctx, cfg.DatabaseURL, cfg.Logger(), partneredge.Schema); err != nil {
		return err
	}
	p := catalog.NewProcess(cfg, cfg.DatabaseURL)
	defer p.Close()
	stop, err := startTelemetry(ctx, p)
	if err != nil {
		return err
	}
	defer stop()
	return servePartnerEdge(ctx, cfg, p, cfg.DatabaseURL, false)
}

// servePartnerEdge serves the partner edge until ctx ends. dev makes the call log's
// secret under the data folder when no file is named.
func servePartnerEdge(ctx context.Context, cfg *catalog.Config, p *catalog.Process, dbURL string, dev bool) error {
	log := p.Logger().With("service", partneredge.Caller)
	secret, err := partneredge.ReadSecret(cfg.PartnerCallLogSecret(dev), dev)
	if err != nil {
		return fmt.Errorf("-partner-edge.call-log-secret: %w", err)
	}
	db, err := pg.Open(ctx, dbURL, partneredge.Schema.Name, 2)
	if err != nil {
		return err
	}
	defer db.Close()
	calls, err := partneredge.OpenCallLog(db, secret)
	if err != nil {
		return err
	}
	public, err := cfg.PartnerEdgeTLS(log)
	if err != nil {
		return fmt.Errorf("-partner-edge.tls-cert: %w", err)
	}
	e, err := partneredge.New(partneredge.Options{
		Upstreams: p.PartnerUpstreams(), Verifier: p.PartnerVerifier(), Limits: cfg.PartnerEdge.Limits, CallLog: calls,
		TLS: public, Logger: log, DrainDelay: cfg.DrainDelay, Registerer: p.Registry(),
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.PartnerEdgeListenAddr())
	if err != nil {
		return fmt.Errorf("partner edge: %w", err)
	}
	return e.Serve(ctx, ln)
}

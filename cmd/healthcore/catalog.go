package main

import (
	"context"
	"strings"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/grpc"

	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/gen/healthcore/meetings/v1/meetingsv1connect"
	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	"healthcore/gen/healthcore/pix/v1/pixv1connect"
	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/gen/healthcore/records/v1/recordsv1connect"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	telehealthv1 "healthcore/gen/healthcore/telehealth/v1"
	"healthcore/gen/healthcore/telehealth/v1/telehealthv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/pg"
	"healthcore/platform/server"
	"healthcore/services/blobs"
	"healthcore/services/directory"
	"healthcore/services/identity"
	"healthcore/services/keys"
	"healthcore/services/meetings"
	"healthcore/services/payments"
	"healthcore/services/pix"
	"healthcore/services/records"
	"healthcore/services/scheduling"
	"healthcore/services/telehealth"
)

// service is one deployable service of the binary. Adding a service is adding an entry
// here: its name and port, its schema (if it owns data), its REST registration (if it
// is public) and a start function that builds it from the process's shared parts.
type service struct {
	name   string
	fqName string // fully-qualified gRPC service name
	port   int    // default port
	schema *pg.Schema
	rest   func(context.Context, *gwruntime.ServeMux, *grpc.ClientConn) error
	start  func(ctx context.Context, p *process) (*server.Server, background, error)
}

// background is work a service runs beside serving until the context ends (nil: none).
type background func(context.Context) error

// catalog lists the services in start order: a service may call only those before it
// while starting.
var catalog = []service{
	{name: "keys", fqName: keysv1connect.KeysServiceName, port: 7001, start: startKeys},
	{name: "identity", fqName: identityv1connect.IdentityServiceName, port: 7002, schema: &identity.Schema,
		rest: identityv1.RegisterIdentityServiceHandler, start: startIdentity},
	{name: "directory", fqName: directoryv1connect.DirectoryServiceName, port: 7003, schema: &directory.Schema,
		rest: directoryv1.RegisterDirectoryServiceHandler, start: startDirectory},
	{name: "scheduling", fqName: schedulingv1connect.SchedulingServiceName, port: 7004, schema: &scheduling.Schema,
		rest: schedulingv1.RegisterSchedulingServiceHandler, start: startScheduling},
	// pix's schema holds only the development sandbox's state; migrating it is harmless
	// when the mercadopago driver is used.
	{name: "pix", fqName: pixv1connect.PixServiceName, port: 7012, schema: &pix.SandboxSchema, start: startPix},
	// payments calls identity and pix, and scheduling from its jobs, which may run at once.
	{name: "payments", fqName: paymentsv1connect.PaymentsServiceName, port: 7005, schema: &payments.Schema,
		rest: paymentsv1.RegisterPaymentsServiceHandler, start: startPayments},
	{name: "meetings", fqName: meetingsv1connect.MeetingsServiceName, port: 7013, start: startMeetings},
	{name: "blobs", fqName: blobsv1connect.BlobsServiceName, port: 7011, start: startBlobs},
	// records calls keys, blobs and directory, so it starts after them.
	{name: "records", fqName: recordsv1connect.RecordsServiceName, port: 7006, schema: &records.Schema,
		rest: recordsv1.RegisterRecordsServiceHandler, start: startRecords},
	// telehealth calls scheduling and meetings (not while starting, but its jobs may
	// run at once).
	{name: "telehealth", fqName: telehealthv1connect.TelehealthServiceName, port: 7007, schema: &telehealth.Schema,
		rest: telehealthv1.RegisterTelehealthServiceHandler, start: startTelehealth},
}

func startKeys(ctx context.Context, p *process) (*server.Server, background, error) {
	driver, err := p.cfg.Keys.Open(ctx, p.cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("keys", authn.NewInterceptor(p.remoteVerifier(), p.cfg.ServiceToken))
	srv.Handle(keys.New(driver).Handler(srv.HandlerOptions()...))
	return srv, nil, nil
}

func startIdentity(ctx context.Context, p *process) (*server.Server, background, error) {
	db, err := p.pool(ctx, identity.Schema.Name)
	if err != nil {
		return nil, nil, err
	}
	svc, err := identity.New(ctx, identity.Deps{
		DB: db, Envelope: envelope.New(p.keysClient(), envelope.Defaults), Logger: p.log.With("service", "identity"),
	}, p.cfg.Identity)
	if err != nil {
		return nil, nil, err
	}
	// identity verifies tokens against its own keys, read from its database.
	srv := p.newServer("identity", authn.NewInterceptor(authn.NewVerifier(svc.KeySource()), p.cfg.ServiceToken))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func startDirectory(ctx context.Context, p *process) (*server.Server, background, error) {
	db, err := p.pool(ctx, directory.Schema.Name)
	if err != nil {
		return nil, nil, err
	}
	svc, err := directory.New(ctx, directory.Deps{
		DB: db, Scheduling: p.schedulingClient(), Logger: p.log.With("service", "directory"),
	})
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("directory", authn.NewInterceptor(p.remoteVerifier(), p.cfg.ServiceToken))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, nil, nil
}

func startScheduling(ctx context.Context, p *process) (*server.Server, background, error) {
	db, err := p.pool(ctx, scheduling.Schema.Name)
	if err != nil {
		return nil, nil, err
	}
	svc, err := scheduling.New(scheduling.Deps{
		DB: db, Directory: p.directoryClient(), Payments: p.paymentsClient(), Telehealth: p.telehealthClient(),
		Logger: p.log.With("service", "scheduling"),
	}, p.cfg.Scheduling)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("scheduling", authn.NewInterceptor(p.remoteVerifier(), p.cfg.ServiceToken))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func startPix(ctx context.Context, p *process) (*server.Server, background, error) {
	var db *pgxpool.Pool
	if p.cfg.Pix.Driver.Value == pix.DriverSandbox {
		var err error
		if db, err = p.pool(ctx, pix.SandboxSchema.Name); err != nil {
			return nil, nil, err
		}
	}
	driver, sandbox, err := p.cfg.Pix.Open(ctx, db, p.log.With("service", "pix"))
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("pix", authn.NewInterceptor(p.remoteVerifier(), p.cfg.ServiceToken))
	srv.Handle(pix.New(driver, nil).Handler(srv.HandlerOptions()...))
	if sandbox == nil {
		return srv, nil, nil
	}
	return srv, sandbox.Run, nil
}

func startMeetings(ctx context.Context, p *process) (*server.Server, background, error) {
	driver, err := p.cfg.Meetings.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("meetings", authn.NewInterceptor(p.remoteVerifier(), p.cfg.ServiceToken))
	srv.Handle(meetings.New(driver, p.cfg.Meetings.MediaRegion).Handler(srv.HandlerOptions()...))
	return srv, nil, nil
}

func startPayments(ctx context.Context, p *process) (*server.Server, background, error) {
	db, err := p.pool(ctx, payments.Schema.Name)
	if err != nil {
		return nil, nil, err
	}
	svc, err := payments.New(payments.Deps{
		DB: db, Pix: p.pixClient(), Identity: p.payerClient(), Scheduling: p.schedulingClient(),
		Logger: p.log.With("service", "payments"),
	}, p.cfg.Payments)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("payments", authn.NewInterceptor(p.remoteVerifier(), p.cfg.ServiceToken))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func startBlobs(ctx context.Context, p *process) (*server.Server, background, error) {
	driver, err := p.cfg.Blobs.Open(ctx, p.cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("blobs", authn.NewInterceptor(p.remoteVerifier(), p.cfg.ServiceToken))
	srv.Handle(blobs.New(driver).Handler(srv.HandlerOptions()...))
	return srv, nil, nil
}

func startRecords(ctx context.Context, p *process) (*server.Server, background, error) {
	db, err := p.pool(ctx, records.Schema.Name)
	if err != nil {
		return nil, nil, err
	}
	svc, err := records.New(records.Deps{
		DB: db, Keys: p.keysClient(), Blobs: p.blobsClient(), Directory: p.directoryClient(),
		Logger: p.log.With("service", "records"),
	}, p.cfg.Records)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("records", authn.NewInterceptor(p.remoteVerifier(), p.cfg.ServiceToken))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, nil, nil
}

func startTelehealth(ctx context.Context, p *process) (*server.Server, background, error) {
	db, err := p.pool(ctx, telehealth.Schema.Name)
	if err != nil {
		return nil, nil, err
	}
	svc, err := telehealth.New(telehealth.Deps{
		DB: db, Scheduling: p.schedulingClient(), Meetings: p.meetingsClient(), Logger: p.log.With("service", "telehealth"),
	}, p.cfg.Telehealth)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("telehealth", authn.NewInterceptor(p.remoteVerifier(), p.cfg.ServiceToken))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func serviceNames() string {
	names := make([]string, len(catalog))
	for i, s := range catalog {
		names[i] = s.name
	}
	return strings.Join(names, ", ")
}

func findService(name string) (service, bool) {
	for _, s := range catalog {
		if s.name == name {
			return s, true
		}
	}
	return service{}, false
}

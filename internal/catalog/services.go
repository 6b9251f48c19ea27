package catalog

import (
	"context"
	"net/http"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/gen/healthcore/meetings/v1/meetingsv1connect"
	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/gen/healthcore/notifications/v1/notificationsv1connect"
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
	"healthcore/platform/server"
	"healthcore/platform/tracing"
	"healthcore/services/blobs"
	"healthcore/services/clinics"
	"healthcore/services/directory"
	"healthcore/services/identity"
	"healthcore/services/keys"
	"healthcore/services/meetings"
	"healthcore/services/notifications"
	"healthcore/services/payments"
	"healthcore/services/pix"
	"healthcore/services/pix/pixsandbox"
	"healthcore/services/records"
	"healthcore/services/scheduling"
	"healthcore/services/telehealth"
)

// services lists the services in start order: a service may call only those before it
// while starting. Adding a service is adding an entry here (and its start function
// below).
var services = []Service{
	{Name: "keys", FQName: keysv1connect.KeysServiceName, Port: 7001, wiring: wire(keys.DefaultConfig, startKeys)},
	{Name: "identity", FQName: identityv1connect.IdentityServiceName, Port: 7002, Schema: &identity.Schema,
		REST: identityv1.RegisterIdentityServiceHandler, wiring: wire(identity.DefaultConfig, startIdentity)},
	{Name: "directory", FQName: directoryv1connect.DirectoryServiceName, Port: 7003, Schema: &directory.Schema,
		REST: directoryv1.RegisterDirectoryServiceHandler, wiring: wire(directory.DefaultConfig, startDirectory)},
	{Name: "scheduling", FQName: schedulingv1connect.SchedulingServiceName, Port: 7004, Schema: &scheduling.Schema,
		REST: schedulingv1.RegisterSchedulingServiceHandler, wiring: wire(scheduling.DefaultConfig, startScheduling)},
	// pix's schema holds only the development sandbox's state; migrating it is harmless
	// when the mercadopago driver is used.
	{Name: "pix", FQName: pixv1connect.PixServiceName, Port: 7012, Schema: &pixsandbox.Schema,
		wiring: wire(pix.DefaultConfig, startPix)},
	// payments calls identity and pix, and scheduling from its jobs, which may run at once.
	{Name: "payments", FQName: paymentsv1connect.PaymentsServiceName, Port: 7005, Schema: &payments.Schema,
		REST: paymentsv1.RegisterPaymentsServiceHandler, wiring: wire(payments.DefaultConfig, startPayments)},
	{Name: "meetings", FQName: meetingsv1connect.MeetingsServiceName, Port: 7013, wiring: wire(meetings.DefaultConfig, startMeetings)},
	{Name: "blobs", FQName: blobsv1connect.BlobsServiceName, Port: 7011, wiring: wire(blobs.DefaultConfig, startBlobs)},
	// records calls keys, blobs and directory, so it starts after them.
	{Name: "records", FQName: recordsv1connect.RecordsServiceName, Port: 7006, Schema: &records.Schema,
		REST: recordsv1.RegisterRecordsServiceHandler, wiring: wire(records.DefaultConfig, startRecords)},
	// telehealth calls scheduling and meetings (not while starting, but its jobs may
	// run at once).
	{Name: "telehealth", FQName: telehealthv1connect.TelehealthServiceName, Port: 7007, Schema: &telehealth.Schema,
		REST: telehealthv1.RegisterTelehealthServiceHandler, wiring: wire(telehealth.DefaultConfig, startTelehealth)},
	// notifications calls identity (contacts) and directory (doctors' time zones) from
	// its jobs; scheduling, payments, records and identity call it from theirs.
	{Name: "notifications", FQName: notificationsv1connect.NotificationsServiceName, Port: 7008, Schema: &notifications.Schema,
		REST: notificationsv1.RegisterNotificationsServiceHandler, wiring: wire(notifications.DefaultConfig, startNotifications)},
	// clinics calls keys (the event endpoints' secrets) and the clinics' endpoints from
	// its jobs; scheduling asks it about affiliations and publishes events to it (from
	// jobs, not while starting), identity whether a clinic exists. Operators and doctors
	// reach it over REST.
	{Name: "clinics", FQName: clinicsv1connect.ClinicsServiceName, Port: 7014, Schema: &clinics.Schema,
		REST: clinicsv1.RegisterClinicsServiceHandler, wiring: wire(clinics.DefaultConfig, startClinics)},
}

func startClinics(ctx context.Context, p *Process, cfg *clinics.Config) (*server.Server, Background, error) {
	db, err := p.pool(ctx, "clinics", clinics.Schema)
	if err != nil {
		return nil, nil, err
	}
	svc, err := clinics.New(clinics.Deps{DB: db, Envelope: p.Envelope("clinics"), Logger: p.log.With("service", "clinics")}, *cfg)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("clinics", p.remoteAuth("clinics"))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func startKeys(ctx context.Context, p *Process, cfg *keys.Config) (*server.Server, Background, error) {
	if tp := p.Tracer("keys"); tp != nil {
		cfg.AWS.HTTPClient = tracing.Doer(tp, awshttp.NewBuildableClient(), "kms")
	}
	driver, err := cfg.Open(ctx, p.cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("keys", p.remoteAuth("keys"))
	srv.Handle(keys.New(driver).Handler(srv.HandlerOptions()...))
	return srv, nil, nil
}

func startIdentity(ctx context.Context, p *Process, cfg *identity.Config) (*server.Server, Background, error) {
	db, err := p.pool(ctx, "identity", identity.Schema)
	if err != nil {
		return nil, nil, err
	}
	svc, err := identity.New(ctx, identity.Deps{
		DB: db, Envelope: p.Envelope("identity"),
		Notifications: client(p, "identity", "notifications", notificationsv1connect.NewNotificationsServiceClient),
		// Data exports and erasures (LGPD art. 18), from their jobs; the doctors' CRM
		// cards (Keys, Blobs) and verification verdicts (Directory, Scheduling).
		Scheduling: client(p, "identity", "scheduling", schedulingv1connect.NewSchedulingServiceClient),
		Payments:   client(p, "identity", "payments", paymentsv1connect.NewPaymentsServiceClient),
		Records:    client(p, "identity", "records", recordsv1connect.NewRecordsServiceClient),
		Blobs:      client(p, "identity", "blobs", blobsv1connect.NewBlobsServiceClient),
		Keys:       client(p, "identity", "keys", keysv1connect.NewKeysServiceClient),
		Directory:  client(p, "identity", "directory", directoryv1connect.NewDirectoryServiceClient),
		// Whether a clinic exists, before an operator creates an OAuth client for it.
		Clinics: client(p, "identity", "clinics", clinicsv1connect.NewClinicsServiceClient),
		Logger:  p.log.With("service", "identity"),
	}, *cfg)
	if err != nil {
		return nil, nil, err
	}
	// identity verifies tokens against its own keys and ended sessions, read from its database.
	users := authn.NewVerifier(svc.KeySource()).WithProfile(cfg.Tokens).CheckRevocations(svc.RevocationSource(), p.cfg.RevokedSessions)
	p.register(svc.Collector(), svc.AuditCollector())
	srv := p.newServer("identity", authn.NewInterceptor(users, p.serviceVerifier("identity")))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func startDirectory(ctx context.Context, p *Process, cfg *directory.Config) (*server.Server, Background, error) {
	db, err := p.pool(ctx, "directory", directory.Schema)
	if err != nil {
		return nil, nil, err
	}
	svc, err := directory.New(ctx, directory.Deps{
		DB: db, Scheduling: client(p, "directory", "scheduling", schedulingv1connect.NewSchedulingServiceClient),
		Logger: p.log.With("service", "directory"), SearchIndexEvery: cfg.SearchIndexEvery,
	})
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("directory", p.remoteAuth("directory"))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func startScheduling(ctx context.Context, p *Process, cfg *scheduling.Config) (*server.Server, Background, error) {
	db, err := p.pool(ctx, "scheduling", scheduling.Schema)
	if err != nil {
		return nil, nil, err
	}
	svc, err := scheduling.New(scheduling.Deps{
		DB:            db,
		Envelope:      p.Envelope("scheduling"),
		Directory:     client(p, "scheduling", "directory", directoryv1connect.NewDirectoryServiceClient),
		Payments:      client(p, "scheduling", "payments", paymentsv1connect.NewPaymentsServiceClient),
		Telehealth:    client(p, "scheduling", "telehealth", telehealthv1connect.NewTelehealthServiceClient),
		Notifications: client(p, "scheduling", "notifications", notificationsv1connect.NewNotificationsServiceClient),
		Identity:      client(p, "scheduling", "identity", identityv1connect.NewIdentityServiceClient),
		Clinics:       client(p, "scheduling", "clinics", clinicsv1connect.NewClinicsServiceClient),
		Logger:        p.log.With("service", "scheduling"),
	}, *cfg)
	if err != nil {
		return nil, nil, err
	}
	p.register(svc.Collector())
	srv := p.newServer("scheduling", p.remoteAuth("scheduling"))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func startPix(ctx context.Context, p *Process, cfg *pix.Config) (*server.Server, Background, error) {
	var db *pgxpool.Pool
	if cfg.Driver.Value == pix.DriverSandbox {
		var err error
		if db, err = p.pool(ctx, "pix", pixsandbox.Schema); err != nil {
			return nil, nil, err
		}
	}
	if tp := p.Tracer("pix"); tp != nil {
		cfg.Transport = tracing.Transport(tp, http.DefaultTransport.(*http.Transport).Clone(), "mercadopago")
	}
	driver, sandbox, err := cfg.Open(ctx, db, p.log.With("service", "pix"))
	if err != nil {
		return nil, nil, err
	}
	p.dependOnEndpoint("pix provider", driver)
	srv := p.newServer("pix", p.remoteAuth("pix"))
	srv.Handle(pix.New(driver, nil).Handler(srv.HandlerOptions()...))
	if sandbox == nil {
		return srv, nil, nil
	}
	return srv, sandbox.Run, nil
}

func startPayments(ctx context.Context, p *Process, cfg *payments.Config) (*server.Server, Background, error) {
	db, err := p.pool(ctx, "payments", payments.Schema)
	if err != nil {
		return nil, nil, err
	}
	svc, err := payments.New(payments.Deps{
		DB:            db,
		Pix:           client(p, "payments", "pix", pixv1connect.NewPixServiceClient),
		Identity:      client(p, "payments", "identity", identityv1connect.NewIdentityServiceClient),       // GetPayer
		Scheduling:    client(p, "payments", "scheduling", schedulingv1connect.NewSchedulingServiceClient), // and GetAppointment for notices
		Notifications: client(p, "payments", "notifications", notificationsv1connect.NewNotificationsServiceClient),
		Logger:        p.log.With("service", "payments"),
	}, *cfg)
	if err != nil {
		return nil, nil, err
	}
	p.register(svc.Collector())
	srv := p.newServer("payments", p.remoteAuth("payments"))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func startMeetings(ctx context.Context, p *Process, cfg *meetings.Config) (*server.Server, Background, error) {
	if tp := p.Tracer("meetings"); tp != nil {
		cfg.Transport = tracing.Transport(tp, http.DefaultTransport.(*http.Transport).Clone(), "chime")
	}
	driver, err := cfg.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	p.dependOnEndpoint("chime", driver)
	srv := p.newServer("meetings", p.remoteAuth("meetings"))
	srv.Handle(meetings.New(driver, cfg.MediaRegion).Handler(srv.HandlerOptions()...))
	return srv, nil, nil
}

func startBlobs(ctx context.Context, p *Process, cfg *blobs.Config) (*server.Server, Background, error) {
	if tp := p.Tracer("blobs"); tp != nil {
		cfg.S3.HTTPClient = tracing.Doer(tp, awshttp.NewBuildableClient(), "s3")
	}
	driver, err := cfg.Open(ctx, p.cfg.DataDir)
	if err != nil {
		return nil, nil, err
	}
	p.dependOnEndpoint("s3", driver)
	srv := p.newServer("blobs", p.remoteAuth("blobs"))
	srv.Handle(blobs.New(driver).Handler(srv.HandlerOptions()...))
	return srv, nil, nil
}

func startRecords(ctx context.Context, p *Process, cfg *records.Config) (*server.Server, Background, error) {
	db, err := p.pool(ctx, "records", records.Schema)
	if err != nil {
		return nil, nil, err
	}
	svc, err := records.New(records.Deps{
		DB:            db,
		Keys:          client(p, "records", "keys", keysv1connect.NewKeysServiceClient),
		Blobs:         client(p, "records", "blobs", blobsv1connect.NewBlobsServiceClient),
		Directory:     client(p, "records", "directory", directoryv1connect.NewDirectoryServiceClient),
		Notifications: client(p, "records", "notifications", notificationsv1connect.NewNotificationsServiceClient),
		Identity:      client(p, "records", "identity", identityv1connect.NewIdentityServiceClient),
		Logger:        p.log.With("service", "records"),
	}, *cfg)
	if err != nil {
		return nil, nil, err
	}
	p.register(svc.Collector(), svc.AuditCollector())
	srv := p.newServer("records", p.remoteAuth("records"))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

func startTelehealth(ctx context.Context, p *Process, cfg *telehealth.Config) (*server.Server, Background, error) {
	db, err := p.pool(ctx, "telehealth", telehealth.Schema)
	if err != nil {
		return nil, nil, err
	}
	svc, err := telehealth.New(telehealth.Deps{
		DB:         db,
		Scheduling: client(p, "telehealth", "scheduling", schedulingv1connect.NewSchedulingServiceClient),
		Meetings:   client(p, "telehealth", "meetings", meetingsv1connect.NewMeetingsServiceClient),
		Logger:     p.log.With("service", "telehealth"),
	}, *cfg)
	if err != nil {
		return nil, nil, err
	}
	srv := p.newServer("telehealth", p.remoteAuth("telehealth"))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, svc.Run, nil
}

package identity

import (
	"context"
	"embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/gen/healthcore/notifications/v1/notificationsv1connect"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	"healthcore/gen/healthcore/records/v1/recordsv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/authn"
	"healthcore/platform/config"
	"healthcore/platform/envelope"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
	"healthcore/services/identity/crmregistry"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the identity service's PostgreSQL schema, its migrations and River's job
// tables (for the identity.rotate_keys job).
var Schema = pg.Schema{Name: "identity", Migrations: pg.Dir(migrations, "migrations"), Jobs: true}

// Config holds the identity service's settings.
type Config struct {
	AccessTTL     time.Duration
	RefreshTTL    time.Duration
	SessionMaxAge time.Duration
	KeyRotation   time.Duration
	Argon2        Argon2Params
	Throttle      ThrottlePolicy
	Register      RegisterLimit
	// Mail bounds the e-mails with links (verification, reset) per account and per
	// client address.
	Mail MailLimit
	// Tokens is the access tokens' profile (-identity.token-alg, -identity.issuer,
	// -identity.audience): identity signs with it, and every service verifies with it.
	Tokens authn.TokenProfile
	// AuditExportEvery is how often the audit log's new rows are written out as log
	// lines for the audit stream (identity.export_audit); 0 turns the export off.
	AuditExportEvery time.Duration
	// PruneEvery is how often the elected leader deletes the spent rows of the login
	// throttle, the registration windows and the known clients (identity.prune_throttle);
	// 0 turns it off.
	PruneEvery time.Duration
	// ExportTTL is how long a patient's data export can be downloaded after it is
	// produced; then the archive is deleted.
	ExportTTL time.Duration
	// ExportMaxBytes is the largest data export archive (sealed) stored; a bigger one
	// fails the export.
	ExportMaxBytes int64
	// CRMRegistryFile is an operator-provided fixture of the CRM registry
	// (-identity.crm-registry-file); empty means the embedded demo fixture.
	CRMRegistryFile string
	// Jobs tunes the job runner of the signing-key rotation and the audit export (tests
	// shorten its polling).
	Jobs jobs.Options
}

// DefaultConfig is what production runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		AccessTTL:     15 * time.Minute,
		RefreshTTL:    14 * 24 * time.Hour,
		SessionMaxAge: 30 * 24 * time.Hour,
		KeyRotation:   30 * 24 * time.Hour,
		Argon2:        DefaultArgon2,
		Throttle:      DefaultThrottle,
		Register:      DefaultRegisterLimit,
		Mail:          DefaultMailLimit,
		Tokens:        authn.DefaultTokenProfile,

		AuditExportEvery: 30 * time.Second,
		PruneEvery:       time.Hour,
		ExportTTL:        24 * time.Hour,
		ExportMaxBytes:   2 << 30,
	}
}

// RegisterFlags binds the settings to flags named identity.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.AccessTTL, "identity.access-ttl", c.AccessTTL, "lifetime of access tokens")
	fs.DurationVar(&c.RefreshTTL, "identity.refresh-ttl", c.RefreshTTL, "how long an unused refresh token stays valid")
	fs.DurationVar(&c.SessionMaxAge, "identity.session-max-age", c.SessionMaxAge, "absolute lifetime of a login session")
	fs.DurationVar(&c.KeyRotation, "identity.key-rotation", c.KeyRotation, "age at which the token signing key is replaced")
	fs.IntVar(&c.Throttle.AccountFree, "identity.throttle-account-free", c.Throttle.AccountFree, "failed logins per account before backoff")
	fs.IntVar(&c.Throttle.AddressFree, "identity.throttle-address-free", c.Throttle.AddressFree, "failed logins per client address before backoff")
	fs.DurationVar(&c.Throttle.Lockout, "identity.throttle-lockout", c.Throttle.Lockout, "lockout window after repeated failures")
	fs.IntVar(&c.Throttle.AccountGlobalFree, "identity.throttle-account-global-free", c.Throttle.AccountGlobalFree,
		"failed logins per account from clients it never logged in from, all together, before backoff (never a lockout)")
	fs.DurationVar(&c.Throttle.AccountGlobalMaxDelay, "identity.throttle-account-global-max-delay", c.Throttle.AccountGlobalMaxDelay,
		"longest wait the per-account backoff reaches")
	fs.DurationVar(&c.Throttle.KnownClientFor, "identity.throttle-known-client-for", c.Throttle.KnownClientFor,
		"how long a device or address stays known to an account after a successful login")
	fs.IntVar(&c.Register.PerAddress, "identity.register-per-address", c.Register.PerAddress, "registrations allowed per client address in each -identity.register-window")
	fs.DurationVar(&c.Register.Window, "identity.register-window", c.Register.Window, "window of the registration limit")
	fs.IntVar(&c.Mail.PerAccount, "identity.mail-per-account", c.Mail.PerAccount,
		"e-mails with a verification or password reset link sent to one account in each -identity.mail-window")
	fs.IntVar(&c.Mail.PerAddress, "identity.mail-per-address", c.Mail.PerAddress,
		"password reset requests allowed per client address in each -identity.mail-window")
	fs.DurationVar(&c.Mail.Window, "identity.mail-window", c.Mail.Window, "window of the e-mail limits")
	fs.StringVar(&c.Tokens.Alg, "identity.token-alg", c.Tokens.Alg,
		"algorithm of access tokens, in every process: EdDSA, or RS256 for an AWS API Gateway JWT authorizer")
	fs.StringVar(&c.Tokens.Issuer, "identity.issuer", c.Tokens.Issuer,
		"iss of access tokens, in every process; with the API Gateway, the API's public https URL (its /.well-known/openid-configuration)")
	fs.StringVar(&c.Tokens.Audience, "identity.audience", c.Tokens.Audience,
		"aud of access tokens, in every process (the API Gateway authorizer's audience)")
	fs.DurationVar(&c.AuditExportEvery, "identity.audit-export-every", c.AuditExportEvery,
		"how often the audit log's new rows are written to stderr as lines for the audit log stream (0: never)")
	fs.DurationVar(&c.PruneEvery, "identity.prune-every", c.PruneEvery,
		"how often spent login throttle counts, registration windows and known clients are deleted (0: never)")
	fs.DurationVar(&c.ExportTTL, "identity.export-ttl", c.ExportTTL,
		"how long a patient's data export can be downloaded after it is produced (then it is deleted)")
	fs.Int64Var(&c.ExportMaxBytes, "identity.export-max-bytes", c.ExportMaxBytes,
		"largest data export archive stored, in bytes (sealed); a bigger export fails")
	uintFlag(fs, &c.Argon2.MemoryKiB, "identity.argon2-memory-kib",
		"argon2id memory per password hash, KiB (OWASP's minimum sets: 19456 with 2 passes, 7168 with 5; below them only with -allow-dev-drivers)")
	uintFlag(fs, &c.Argon2.Iterations, "identity.argon2-iterations", "argon2id passes per password hash")
	fs.IntVar(&c.Argon2.MaxConcurrent, "identity.argon2-max-concurrent", c.Argon2.MaxConcurrent,
		"password hashes computed at once (each holds -identity.argon2-memory-kib); more wait")
	fs.StringVar(&c.CRMRegistryFile, "identity.crm-registry-file", c.CRMRegistryFile,
		"JSON file of CRM registrations shown to operators beside a doctor's evidence (empty: the embedded demo fixture)")
	c.Jobs.RegisterFlags(fs, "identity")
}

// uintFlag binds a uint32 setting.
func uintFlag(fs *flag.FlagSet, v *uint32, name, usage string) {
	fs.Var((*uint32Value)(v), name, usage)
}

// uint32Value is a flag.Value of a uint32 (its String is the default -h shows).
type uint32Value uint32

func (u *uint32Value) String() string { return strconv.FormatUint(uint64(*u), 10) }

func (u *uint32Value) Set(s string) error {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return errors.New("must be a whole number")
	}
	*u = uint32Value(n)
	return nil
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	p.Check(c.Argon2.MemoryKiB >= 1024 && c.Argon2.MemoryKiB <= 1<<20, "identity.argon2-memory-kib=%d: must be between 1024 and 1048576", c.Argon2.MemoryKiB)
	p.Check(c.Argon2.Iterations >= 1 && c.Argon2.Iterations <= 20, "identity.argon2-iterations=%d: must be between 1 and 20", c.Argon2.Iterations)
	p.Check(c.Argon2.MaxConcurrent >= 1, "identity.argon2-max-concurrent=%d: must be at least 1", c.Argon2.MaxConcurrent)
	p.Check(c.AccessTTL >= time.Minute && c.AccessTTL <= time.Hour, "identity.access-ttl=%s: must be between 1m and 1h", c.AccessTTL)
	p.Check(c.RefreshTTL >= time.Hour, "identity.refresh-ttl=%s: must be at least 1h", c.RefreshTTL)
	p.Check(c.SessionMaxAge >= c.RefreshTTL, "identity.session-max-age=%s: must be at least identity.refresh-ttl (%s)", c.SessionMaxAge, c.RefreshTTL)
	p.Check(c.KeyRotation >= 2*c.AccessTTL, "identity.key-rotation=%s: must be at least twice identity.access-ttl", c.KeyRotation)
	p.Check(c.Throttle.AccountFree >= 1, "identity.throttle-account-free=%d: must be at least 1", c.Throttle.AccountFree)
	p.Check(c.Throttle.AddressFree >= c.Throttle.AccountFree, "identity.throttle-address-free=%d: must be at least identity.throttle-account-free", c.Throttle.AddressFree)
	p.Check(c.Throttle.Lockout >= time.Minute, "identity.throttle-lockout=%s: must be at least 1m", c.Throttle.Lockout)
	p.Check(c.Throttle.AccountGlobalFree >= c.Throttle.AccountFree, "identity.throttle-account-global-free=%d: must be at least identity.throttle-account-free",
		c.Throttle.AccountGlobalFree)
	p.Check(c.Throttle.AccountGlobalMaxDelay >= time.Second && c.Throttle.AccountGlobalMaxDelay <= c.Throttle.Lockout,
		"identity.throttle-account-global-max-delay=%s: must be between 1s and identity.throttle-lockout", c.Throttle.AccountGlobalMaxDelay)
	p.Check(c.Throttle.KnownClientFor >= 0, "identity.throttle-known-client-for=%s: must not be negative", c.Throttle.KnownClientFor)
	p.Check(c.Register.PerAddress >= 1, "identity.register-per-address=%d: must be at least 1", c.Register.PerAddress)
	p.Check(c.Register.Window >= time.Second, "identity.register-window=%s: must be at least 1s", c.Register.Window)
	p.Check(c.Mail.PerAccount >= 1, "identity.mail-per-account=%d: must be at least 1", c.Mail.PerAccount)
	p.Check(c.Mail.PerAddress >= 1, "identity.mail-per-address=%d: must be at least 1", c.Mail.PerAddress)
	p.Check(c.Mail.Window >= time.Second, "identity.mail-window=%s: must be at least 1s", c.Mail.Window)
	if err := c.Tokens.Check(); err != nil {
		p.Addf("-identity.token-alg, -identity.issuer, -identity.audience: %v", err)
	}
	p.Check(c.AuditExportEvery == 0 || c.AuditExportEvery >= time.Second && c.AuditExportEvery <= time.Hour,
		"identity.audit-export-every=%s: must be 0 (off) or between 1s and 1h", c.AuditExportEvery)
	p.Check(c.PruneEvery == 0 || c.PruneEvery >= time.Minute,
		"identity.prune-every=%s: must be 0 (off) or at least 1m", c.PruneEvery)
	p.Check(c.ExportTTL >= time.Hour && c.ExportTTL <= 7*24*time.Hour,
		"identity.export-ttl=%s: must be between 1h and 168h", c.ExportTTL)
	p.Check(c.ExportMaxBytes >= 1<<20 && c.ExportMaxBytes <= 5<<30,
		"identity.export-max-bytes=%d: must be between 1 MiB and 5 GiB", c.ExportMaxBytes)
	c.Jobs.Check(p, "identity")
}

// Deps are what the service is built from.
type Deps struct {
	DB       *pgxpool.Pool // search_path = identity
	Envelope *envelope.Envelope
	// Notifications is told about logins from new devices (by jobs committed with
	// them). Nil where no notifications service runs (tests of other services): the jobs
	// are still committed, and complete without sending.
	Notifications notificationsv1connect.NotificationsServiceClient
	// Scheduling, Payments and Records give a patient's data to the data export and
	// apply an erasure; Blobs stores the export archives and the doctors' CRM cards,
	// sealed with data keys from Keys. Nil where no such service runs (tests of other
	// services): exports, erasures and evidence then fail (the jobs retry).
	Scheduling schedulingv1connect.SchedulingServiceClient
	Payments   paymentsv1connect.PaymentsServiceClient
	Records    recordsv1connect.RecordsServiceClient
	Blobs      blobsv1connect.BlobsServiceClient
	Keys       keysv1connect.KeysServiceClient
	// Directory and Scheduling hear the doctors' verification verdicts (jobs
	// identity.publish_doctor_listing and identity.suspend_doctor_appointments). Nil
	// where they do not run (tests of other services): the jobs complete without sending.
	Directory directoryv1connect.DirectoryServiceClient
	// Clinics says whether a clinic exists before an operator creates an OAuth client
	// for it (CheckClinic). Nil where no clinics service runs (tests of other
	// services): the clinic id is then taken as given.
	Clinics clinicsv1connect.ClinicsServiceClient
	// Registry is the CRM registry shown to operators; nil means the one
	// Config.CRMRegistryFile names.
	Registry crmregistry.Registry
	Logger   *slog.Logger
	// Now is the clock; nil means time.Now. Tests move it to expire tokens.
	Now func() time.Time
}

// Service implements the IdentityService RPCs and rotates the token signing key.
type Service struct {
	cfg     Config
	db      *pgxpool.Pool
	env     *envelope.Envelope
	log     *slog.Logger
	now     func() time.Time
	hasher  *hasher
	keys    *keyring
	blindIx []byte
	jobs    *jobs.Client
	// notifications is Deps.Notifications.
	notifications notificationsv1connect.NotificationsServiceClient
	// peers are the services a data export gathers from and an erasure applies to.
	peers      peers
	keysClient keysv1connect.KeysServiceClient
	blobs      blobsv1connect.BlobsServiceClient
	directory  directoryv1connect.DirectoryServiceClient
	scheduling schedulingv1connect.SchedulingServiceClient
	clinics    clinicsv1connect.ClinicsServiceClient
	registry   crmregistry.Registry
	// passwordChecks counts the passwords login verified (tests read it).
	passwordChecks atomic.Int64
	// logins counts Login's answers by outcome (Collector).
	logins *prometheus.CounterVec

	accounts accountStore
	sessions sessionStore
	throttle throttleStore
	secrets  secretStore
	factors  factorStore
	auditLog auditStore
	tokens   tokenStore
	exports  exportStore

	partnerClients partnerClientStore

	verifications verificationStore
}

// peers are the clients of Deps that data exports and erasures use.
type peers struct {
	scheduling schedulingv1connect.SchedulingServiceClient
	payments   paymentsv1connect.PaymentsServiceClient
	records    recordsv1connect.RecordsServiceClient
	blobs      blobsv1connect.BlobsServiceClient
	keys       keysv1connect.KeysServiceClient
}

var _ identityv1connect.IdentityServiceHandler = (*Service)(nil)

// New builds the service and its job client: it loads (or creates, on first start) the
// blind-index key, the audit chain's secret and the active signing key. Run works the
// rotation job.
func New(ctx context.Context, d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Envelope == nil {
		return nil, errors.New("identity: DB and Envelope are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Registry == nil {
		var err error
		if d.Registry, err = openRegistry(cfg.CRMRegistryFile); err != nil {
			return nil, err
		}
	}
	s := &Service{cfg: cfg, db: d.DB, env: d.Envelope, log: d.Logger, now: d.Now, notifications: d.Notifications, hasher: newHasher(cfg.Argon2),
		logins: newLoginCounter(), keysClient: d.Keys, blobs: d.Blobs, directory: d.Directory, scheduling: d.Scheduling, clinics: d.Clinics, registry: d.Registry,
		peers: peers{scheduling: d.Scheduling, payments: d.Payments, records: d.Records, blobs: d.Blobs, keys: d.Keys}}
	s.keys = &keyring{alg: cfg.Tokens.Alg, db: d.DB, env: d.Envelope, log: d.Logger, now: d.Now, publishFor: cfg.AccessTTL + 2*time.Minute}
	err := envelope.AwaitKeys(ctx, d.Logger, func() (err error) {
		if s.blindIx, err = s.loadSecret(ctx, "cpf-blind-index", randomSecret); err == nil {
			s.auditLog.chain, err = s.loadChainKey(ctx)
		}
		return err
	})
	if err != nil {
		if errors.Is(err, envelope.ErrOpen) {
			return nil, fmt.Errorf("%w: the database was sealed under another master key than the keys service now has "+
				"(a deleted or replaced data folder in development?): restore that key, or start from an empty database", err)
		}
		return nil, err
	}
	// Entries appended through the pool (reads, refusals) go by group commit.
	s.auditLog = s.auditLog.batched(d.DB)
	if err := s.keys.ensure(ctx); err != nil {
		return nil, err
	}
	opts := cfg.Jobs
	opts.Periodic = append(slices.Clip(opts.Periodic), rotateKeysPeriodic())
	if cfg.AuditExportEvery > 0 {
		opts.Periodic = append(opts.Periodic, s.exportAuditPeriodic())
	}
	if cfg.PruneEvery > 0 {
		opts.Periodic = append(opts.Periodic, jobs.Every(cfg.PruneEvery, pruneThrottleArgs{}))
	}
	if s.jobs, err = jobs.New(d.DB, Schema.Name, s.workers(), d.Logger, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// openRegistry opens the CRM registry file, or the embedded demo fixture when path
// is empty.
func openRegistry(path string) (crmregistry.Registry, error) {
	if path == "" {
		return crmregistry.Demo(), nil
	}
	return crmregistry.Open(path)
}

// Handler returns the Connect handler, given the server's handler options.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return identityv1connect.NewIdentityServiceHandler(s, opts...)
}

// KeySource gives the service's own verifier the published keys straight from the
// database, without a call to itself.
func (s *Service) KeySource() authn.KeySource { return s.keys.publicKeys }

// RevocationSource gives the service's own verifier the ended sessions straight from
// the database, as ListRevokedSessions gives them to the other services.
func (s *Service) RevocationSource() authn.RevocationSource { return s.revokedSessions }

// Run works the identity.rotate_keys job until ctx ends. Every replica may run it:
// River's elected leader alone schedules the job, and the rotation itself is safe
// against a second run (see keyring.rotateIfOlder). Each replica picks up the new key
// by itself within a minute.
//
// Meanwhile it chains the audit entries left in the audit log's outbox (committed by a
// process that stopped before chaining them): at once, then every auditchain.SweepEvery, an
// empty outbox costing one query.
//
// When ctx ends it also waits for the audit entries still being written (the batches
// of appends through the pool, each bounded by its own timeout) to be committed.
func (s *Service) Run(ctx context.Context) error {
	return s.auditLog.batch.During(ctx, s.log, func(ctx context.Context) error { return jobs.Run(ctx, s.jobs) })
}

package records

import (
	"context"
	"embed"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"healthcore/gen/healthcore/blobs/v1/blobsv1connect"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/gen/healthcore/notifications/v1/notificationsv1connect"
	"healthcore/gen/healthcore/records/v1/recordsv1connect"
	"healthcore/platform/auditchain"
	"healthcore/platform/config"
	"healthcore/platform/envelope"
	"healthcore/platform/errs"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the records service's PostgreSQL schema and its migrations.
var Schema = pg.Schema{Name: "records", Migrations: pg.Dir(migrations, "migrations"), Jobs: true}

// DefaultMaxUploadBytes is the default size limit of one document: 50 MiB.
const DefaultMaxUploadBytes int64 = 50 << 20

// maxUploadLimit is the largest limit settable: what blobs stores in one object,
// less room for the chunks' authentication tags.
const maxUploadLimit int64 = 4 << 30

// DefaultContentTypes are the types accepted by default: what patients photograph or
// receive from laboratories and what viewers render safely. Plain text is left out
// (exam results come as PDF; text invites pasted, unverifiable content), as are types
// the byte sniffer cannot recognise (HEIC, Office files), which could not be checked.
var DefaultContentTypes = []string{"application/pdf", "image/jpeg", "image/png", "image/webp", "application/dicom"}

// DefaultMaxShare is the default longest grant: 90 days.
const DefaultMaxShare = 90 * 24 * time.Hour

// Config holds the records service's settings.
type Config struct {
	// MaxShare is the longest a grant may run, from when it is made.
	MaxShare time.Duration
	// MaxUploadBytes is the largest document accepted, in bytes.
	MaxUploadBytes int64
	// ContentTypes are the content types accepted, each one detectable from the bytes
	// (see detectContentType).
	ContentTypes []string
	// DigestEvery is how often the periodic job offers yesterday's digest of reads of
	// shared documents (it runs once per day whatever the offers).
	DigestEvery time.Duration
	// AccessExportEvery is how often the access log's new rows are written out as log
	// lines for the audit stream (records.export_access_log); 0 turns the export off.
	AccessExportEvery time.Duration
	// Jobs tunes the durable job runner (notifications, the digest and the export).
	Jobs jobs.Options
}

// DefaultConfig is what production runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{MaxUploadBytes: DefaultMaxUploadBytes, ContentTypes: slices.Clone(DefaultContentTypes), MaxShare: DefaultMaxShare,
		DigestEvery: time.Hour, AccessExportEvery: 30 * time.Second}
}

// RegisterFlags binds the settings to flags named records.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Int64Var(&c.MaxUploadBytes, "records.max-upload-bytes", c.MaxUploadBytes, "largest document accepted, in bytes")
	fs.Var((*typeList)(&c.ContentTypes), "records.content-types",
		"comma-separated content types accepted, each checked against the bytes (of "+strings.Join(detectable, ", ")+")")
	fs.DurationVar(&c.MaxShare, "records.max-share", c.MaxShare, "longest a patient may share records with a doctor, e.g. 2160h (90 days)")
	fs.DurationVar(&c.DigestEvery, "records.digest-every", c.DigestEvery,
		"how often yesterday's digest of doctors' reads of shared documents is offered (it is sent once per day)")
	fs.DurationVar(&c.AccessExportEvery, "records.access-export-every", c.AccessExportEvery,
		"how often the access log's new rows are written to stderr as lines for the audit log stream (0: never)")
	c.Jobs.RegisterFlags(fs, "records")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	p.Check(c.MaxUploadBytes >= 1024 && c.MaxUploadBytes <= maxUploadLimit,
		"records.max-upload-bytes=%d: must be between 1024 and %d", c.MaxUploadBytes, maxUploadLimit)
	p.Check(c.MaxShare >= time.Hour, "records.max-share=%s: must be at least 1h", c.MaxShare)
	p.Check(c.DigestEvery >= time.Minute && c.DigestEvery <= 24*time.Hour, "records.digest-every=%s: must be 1m to 24h", c.DigestEvery)
	p.Check(c.AccessExportEvery == 0 || c.AccessExportEvery >= time.Second && c.AccessExportEvery <= time.Hour,
		"records.access-export-every=%s: must be 0 (off) or between 1s and 1h", c.AccessExportEvery)
	c.Jobs.Check(p, "records")
	p.Check(len(c.ContentTypes) > 0, "records.content-types: name at least one type")
	for _, t := range c.ContentTypes {
		p.Check(slices.Contains(detectable, t), "records.content-types: %q cannot be recognised from the bytes (use some of %s)",
			t, strings.Join(detectable, ", "))
	}
}

// typeList is a comma-separated flag value.
type typeList []string

func (l *typeList) String() string { return strings.Join(*l, ",") }

func (l *typeList) Set(s string) error {
	*l = nil
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			*l = append(*l, t)
		}
	}
	return nil
}

// Deps are what the service is built from.
type Deps struct {
	DB *pgxpool.Pool // search_path = records
	// Keys issues and decrypts the documents' data keys. Like every client here, it
	// must call as records (send records' service tokens).
	Keys keysv1connect.KeysServiceClient
	// Blobs stores the encrypted objects.
	Blobs blobsv1connect.BlobsServiceClient
	// Directory tells whether a doctor exists (GetPracticeSettings, an internal RPC).
	// Without it ShareRecords answers UNAVAILABLE DIRECTORY_UNAVAILABLE; everything
	// else works.
	Directory directoryv1connect.DirectoryServiceClient
	// Identity says whether a doctor is verified (GetDoctorStatus) before a share is
	// granted. Without it ShareRecords answers UNAVAILABLE IDENTITY_UNAVAILABLE.
	Identity identityv1connect.IdentityServiceClient
	// Notifications is told about shares and the daily read digest (by jobs committed
	// with them). Nil where no notifications service runs (tests of other services): the
	// jobs are still committed, and complete without sending.
	Notifications notificationsv1connect.NotificationsServiceClient
	Logger        *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Service implements the RecordsService RPCs.
type Service struct {
	cfg           Config
	db            *pgxpool.Pool
	keys          keysv1connect.KeysServiceClient
	blobs         blobsv1connect.BlobsServiceClient
	dir           directoryv1connect.DirectoryServiceClient
	notifications notificationsv1connect.NotificationsServiceClient
	identity      identityv1connect.IdentityServiceClient
	jobs          *jobs.Client
	log           *slog.Logger
	now           func() time.Time
	// shareChecks counts a doctor's reads of shared documents by outcome (Collector).
	shareChecks *prometheus.CounterVec

	// The stores hold all the service's SQL, one per aggregate.
	documents documentStore
	groups    groupStore
	shares    shareStore
	accessLog accessLogStore
}

var _ recordsv1connect.RecordsServiceHandler = (*Service)(nil)

// New builds the service: it opens (or creates, on first start) the access log
// chain's key, through the keys service.
func New(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Keys == nil || d.Blobs == nil {
		return nil, errors.New("records: DB, Keys and Blobs are required")
	}
	var p config.Problems
	cfg.Check(&p)
	if err := p.Err(); err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{cfg: cfg, db: d.DB, keys: d.Keys, blobs: d.Blobs, dir: d.Directory, identity: d.Identity, notifications: d.Notifications,
		log: d.Logger, now: d.Now,
		shareChecks: newShareCheckCounter()}
	// The access log chain's key, from a secret sealed through the keys service (which
	// starts before records).
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	env := envelope.New(d.Keys, envelope.Defaults)
	err := envelope.AwaitKeys(ctx, d.Logger, func() (err error) {
		s.accessLog.chain, err = loadChainKey(ctx, d.DB, env)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Entries appended through the pool (reads, refusals) go by group commit.
	s.accessLog = s.accessLog.batched(d.DB)
	opts := cfg.Jobs
	opts.Periodic = append(slices.Clip(opts.Periodic), s.digestJob())
	if cfg.AccessExportEvery > 0 {
		opts.Periodic = append(opts.Periodic, s.exportJob())
	}
	if s.jobs, err = jobs.New(d.DB, Schema.Name, s.workers(), d.Logger, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the mount path and the Connect handler; pass the server's
// HandlerOptions so authentication and validation run.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return recordsv1connect.NewRecordsServiceHandler(s, opts...)
}

// atomically runs f in one transaction (pg.InTx, which reruns it on a serialization
// failure or deadlock). A declared failure f returns passes through; anything else
// becomes INTERNAL naming op. The access-log entries f writes go to the log's outbox
// and are chained once the transaction committed, before atomically returns.
func (s *Service) atomically(ctx context.Context, op string, f func(pgx.Tx) error) error {
	unchained, err := auditchain.InTx(ctx, s.db, s.accessLog.batch, f)
	if unchained != nil {
		// The action has still happened: its access-log entries wait in the outbox
		// for Run's sweep, or any replica's next batch.
		s.log.WarnContext(ctx, "access log entries committed, not yet chained", slog.String("error", unchained.Error()))
	}
	if _, declared := errors.AsType[*errs.Error](err); err == nil || declared {
		return err
	}
	return errs.Internal(op, err)
}

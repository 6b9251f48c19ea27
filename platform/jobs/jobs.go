// Package jobs runs a service's durable work — the booking saga's steps, holds that
// expire, refunds, reconciliation — as River jobs in the service's own PostgreSQL schema
// (pg.Schema.Jobs adds the tables). A state change and the job that continues it commit
// in one transaction (Client.InsertTx), so either both happen or neither; a job is
// retried with capped exponential backoff until it succeeds, and one whose worker died
// is rescued and run again. Workers must therefore be idempotent.
//
// Conventions, the same in every service:
//
//   - A job kind is "<service>.<verb>" ("scheduling.expire_hold", "payments.refund"):
//     the kind is stored in each row, so it names its owner in any query of the table.
//   - The args type is named <verb>Args and lives with the worker that runs it.
//   - Periodic work (reconciliation, roll-forward, key rotation) is a River periodic job
//     in Options.Periodic, never a ticker: River runs periodic jobs only on the elected
//     leader among the service's replicas, so the work runs once however many replicas
//     there are, and a replica that dies hands the lead to another. Give each periodic
//     job its kind as PeriodicJobOpts.ID and RunOnStart when a fresh start should not
//     wait a whole interval.
package jobs

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"healthcore/platform/config"
)

// Client is a River client over pgx whose inserts wake the service's workers at once:
// River announces a queue's inserts at most once per fetch cooldown, and counts one as
// announced when the job is inserted, not when its transaction commits, so a job
// committed just after the workers fetched another one's would otherwise wait for the
// next poll (a second) — the booking's charge among them. Each job due at once is
// announced on River's own insert channel in its transaction, so on commit; the
// workers' fetches stay limited to one per cooldown, whatever the notifications.
type Client struct {
	*river.Client[pgx.Tx]
	db      *pgxpool.Pool
	channel string // River's insert channel of the schema

	mu        sync.Mutex
	lastTx    pgx.Tx // the transaction and queue announced last: its next inserts need no other
	lastQueue string
}

// InsertTx inserts a job in tx, as River's InsertTx, and announces it in tx if it is
// due at once.
func (c *Client) InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.Client.InsertTx(ctx, tx, args, opts)
	if err != nil {
		return nil, err
	}
	if err := c.announceInTx(ctx, tx, res); err != nil {
		return nil, err
	}
	return res, nil
}

// InsertManyTx inserts jobs in tx in one statement, as River's InsertManyTx, and
// announces in tx the queue of those due at once.
func (c *Client) InsertManyTx(ctx context.Context, tx pgx.Tx, params []river.InsertManyParams) ([]*rivertype.JobInsertResult, error) {
	res, err := c.Client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		if err := c.announceInTx(ctx, tx, r); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// announceInTx announces an inserted job's queue in tx, on commit, if the job is due
// at once and tx has not announced that queue already.
func (c *Client) announceInTx(ctx context.Context, tx pgx.Tx, res *rivertype.JobInsertResult) error {
	if res.UniqueSkippedAsDuplicate || res.Job.State != rivertype.JobStateAvailable {
		return nil
	}
	c.mu.Lock()
	again := c.lastTx == tx && c.lastQueue == res.Job.Queue
	c.mu.Unlock()
	if again {
		return nil // PostgreSQL would fold a second one into the first anyway
	}
	if err := announce(ctx, tx, c.channel, res.Job.Queue); err != nil {
		return fmt.Errorf("jobs: announce %s: %w", res.Job.Kind, err)
	}
	c.mu.Lock()
	c.lastTx, c.lastQueue = tx, res.Job.Queue
	c.mu.Unlock()
	return nil
}

// Insert inserts a job in a transaction of its own, as River's Insert, and announces
// it once committed if it is due at once.
func (c *Client) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error) {
	res, err := c.Client.Insert(ctx, args, opts)
	if err != nil || res.UniqueSkippedAsDuplicate || res.Job.State != rivertype.JobStateAvailable {
		return res, err
	}
	// The job is committed: should the notification fail, the next poll finds it.
	_ = announce(ctx, c.db, c.channel, res.Job.Queue)
	return res, nil
}

// Options tune a client; the zero value is production's setting.
type Options struct {
	// MaxWorkers is how many jobs run at once (default 50). Most jobs spend their time
	// waiting on another service or a provider, not on a CPU or a connection (the pool
	// bounds those), so what caps a queue's rate is workers over a job's latency: at 10,
	// booking's charges (ensure_payment and the partner event, about 0.25 s each under
	// load) saturated near 40 jobs a second, 21 bookings a second at 20,000 users, and
	// waited minutes in line while the cores had room.
	MaxWorkers int
	// PollInterval is how often idle workers look for jobs that became due without a
	// notification (default 1 s); tests lower it.
	PollInterval time.Duration
	// FetchCooldown is the least time between two fetches of jobs (default 20 ms, at
	// most PollInterval). A fetch takes as many jobs as there are idle workers, so
	// while jobs queue up it bounds how fast they start: with River's 100 ms, ten
	// workers whose jobs took 50 ms started about 50 a second, and booking's charges
	// waited 600 ms in line while workers were idle.
	FetchCooldown time.Duration
	// Backoff is the first retry's delay (default 1 s); it doubles each attempt.
	Backoff time.Duration
	// MaxBackoff caps the retry delay (default 5 min).
	MaxBackoff time.Duration
	// MaxAttempts before a job is discarded (default 100: with the cap, about eight
	// hours of trying). A discarded job is logged at error level.
	MaxAttempts int
	// JobTimeout bounds one attempt (default 1 min).
	JobTimeout time.Duration
	// RescueAfter is how long a running job may go silent before it is considered
	// orphaned by a dead worker and run again (default 5 min).
	RescueAfter time.Duration
	// Periodic jobs, e.g. reconciliation.
	Periodic []*river.PeriodicJob
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = 50
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 100
	}
	def(&o.PollInterval, time.Second)
	def(&o.FetchCooldown, 20*time.Millisecond)
	o.FetchCooldown = min(o.FetchCooldown, o.PollInterval)
	def(&o.Backoff, time.Second)
	def(&o.MaxBackoff, 5*time.Minute)
	def(&o.JobTimeout, time.Minute)
	def(&o.RescueAfter, 5*time.Minute)
	return o
}

// New builds a client that inserts into and works the jobs of schema (the pool's
// search_path schema). Workers may be nil for a client that only inserts.
func New(db *pgxpool.Pool, schema string, workers *river.Workers, log *slog.Logger, o Options) (*Client, error) {
	o = o.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := &river.Config{
		Schema: schema,
		// River reports its routine at info level every few seconds; keep its warnings.
		Logger:               slog.New(atLeast{Handler: log.Handler(), min: slog.LevelWarn}),
		MaxAttempts:          o.MaxAttempts,
		JobTimeout:           o.JobTimeout,
		RescueStuckJobsAfter: o.RescueAfter,
		FetchPollInterval:    o.PollInterval,
		FetchCooldown:        o.FetchCooldown,
		RetryPolicy:          backoff{first: o.Backoff, limit: o.MaxBackoff},
		PeriodicJobs:         o.Periodic,
		ErrorHandler:         errorHandler{log: log},
	}
	if workers != nil {
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: o.MaxWorkers}}
	}
	// The pool's statement tracer (pg.OpenTraced) names the service's TracerProvider.
	if t, ok := db.Config().ConnConfig.Tracer.(interface{ TracerProvider() trace.TracerProvider }); ok {
		tp := t.TracerProvider()
		// A job's span links to the span that inserted it (its traceparent rides in the
		// job's metadata), so a saga reads as one story across its jobs and hours.
		cfg.Middleware = append(cfg.Middleware, otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			TracerProvider: tp, MeterProvider: metricnoop.NewMeterProvider(),
			EnableTracePropagation: true, EnableWorkSpanJobKindSuffix: true,
		}))
	}
	rc, err := river.NewClient(riverpgxv5.New(db), cfg)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return &Client{Client: rc, db: db, channel: schema + "." + insertTopic}, nil
}

// Run works jobs until ctx ends, then stops gracefully: running jobs get a moment to
// finish; those that do not are cancelled and, being durable, run again later.
func Run(ctx context.Context, c *Client) error {
	if err := c.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := c.StopAndCancel(stopCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// backoff retries after first, 2×first, 4×first… up to limit, with ±10 % jitter so
// jobs that failed together (a provider outage) do not retry together.
type backoff struct{ first, limit time.Duration }

func (b backoff) NextRetry(job *rivertype.JobRow) time.Time {
	d := b.limit
	if n := job.Attempt - 1; n < 30 {
		if e := b.first << n; e > 0 && e < b.limit {
			d = e
		}
	}
	jitter := time.Duration((rand.Float64()*0.2 - 0.1) * float64(d))
	return time.Now().Add(d + jitter)
}

// errorHandler logs failed attempts; the last one at error level, since the work is
// then abandoned and someone must look.
type errorHandler struct{ log *slog.Logger }

func (h errorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	level := slog.LevelWarn
	if job.Attempt >= job.MaxAttempts {
		level = slog.LevelError
	}
	h.log.Log(ctx, level, "job attempt failed", "job_kind", job.Kind, "job_id", job.ID,
		"attempt", job.Attempt, "max_attempts", job.MaxAttempts, "error", err)
	return nil
}

func (h errorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, v any, trace string) *river.ErrorHandlerResult {
	h.log.ErrorContext(ctx, "job panicked", "job_kind", job.Kind, "job_id", job.ID,
		"attempt", job.Attempt, "panic", fmt.Sprint(v), "stack", trace)
	return nil
}

// atLeast drops records below min.
type atLeast struct {
	slog.Handler
	min slog.Level
}

func (h atLeast) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h atLeast) WithAttrs(as []slog.Attr) slog.Handler {
	return atLeast{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h atLeast) WithGroup(name string) slog.Handler {
	return atLeast{Handler: h.Handler.WithGroup(name), min: h.min}
}

// RegisterFlags binds the runner's production knobs to flags named <prefix>.jobs-*;
// unset fields show (and keep) their defaults.
func (o *Options) RegisterFlags(fs *flag.FlagSet, prefix string) {
	d := o.withDefaults()
	o.MaxWorkers, o.MaxBackoff, o.RescueAfter, o.JobTimeout = d.MaxWorkers, d.MaxBackoff, d.RescueAfter, d.JobTimeout
	o.FetchCooldown = d.FetchCooldown
	fs.IntVar(&o.MaxWorkers, prefix+".jobs-workers", o.MaxWorkers, "durable jobs run at once by this replica")
	fs.DurationVar(&o.FetchCooldown, prefix+".jobs-fetch-cooldown", o.FetchCooldown,
		"least time between two fetches of jobs: lower starts queued jobs sooner, higher costs the database fewer fetches")
	fs.DurationVar(&o.MaxBackoff, prefix+".jobs-max-backoff", o.MaxBackoff, "longest wait between retries of a failing job")
	fs.DurationVar(&o.JobTimeout, prefix+".jobs-timeout", o.JobTimeout, "time limit of one attempt of a job")
	fs.DurationVar(&o.RescueAfter, prefix+".jobs-rescue-after", o.RescueAfter,
		"how long a job may run before it counts as orphaned by a dead replica and is run again (longer than jobs-timeout)")
}

// Check reports bad settings, naming the flags of prefix.
func (o Options) Check(p *config.Problems, prefix string) {
	d := o.withDefaults()
	p.Check(d.FetchCooldown >= time.Millisecond, "%s.jobs-fetch-cooldown=%s: must be at least 1ms", prefix, d.FetchCooldown)
	p.Check(d.MaxWorkers <= 1000, "%s.jobs-workers=%d: must be 1 to 1000", prefix, d.MaxWorkers)
	p.Check(d.MaxBackoff >= d.Backoff, "%s.jobs-max-backoff=%s: must be at least the first retry's delay (%s)", prefix, d.MaxBackoff, d.Backoff)
	p.Check(d.RescueAfter > d.JobTimeout, "%s.jobs-rescue-after=%s: must be longer than %s.jobs-timeout (%s)",
		prefix, d.RescueAfter, prefix, d.JobTimeout)
}

// OneAtATime keeps at most one job of a kind waiting or running (unique by the states
// of a job not yet done): a periodic job that fails is retried with backoff instead of
// piling up beside the next ones.
func OneAtATime() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByState: []rivertype.JobState{
		rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRetryable,
		rivertype.JobStateRunning, rivertype.JobStateScheduled,
	}}}
}

// Every is the periodic job that inserts args every interval, with its kind as the
// periodic job's ID, and at once when a replica becomes the leader (RunOnStart), so
// work that fell due while no leader ran is not left waiting a whole interval.
func Every(interval time.Duration, args river.JobArgs) *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil },
		&river.PeriodicJobOpts{ID: args.Kind(), RunOnStart: true})
}

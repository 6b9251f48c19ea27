package scheduling

import (
	"context"
	"embed"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/gen/healthcore/notifications/v1/notificationsv1connect"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/gen/healthcore/telehealth/v1/telehealthv1connect"
	"healthcore/platform/config"
	"healthcore/platform/envelope"
	"healthcore/platform/errs"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the scheduling service's PostgreSQL schema and its migrations.
var Schema = pg.Schema{Name: "scheduling", Migrations: pg.Dir(migrations, "migrations"), Jobs: true}

// Config holds the scheduling service's settings.
type Config struct {
	// Weeks of slots kept materialised ahead.
	Weeks int
	// MaxRange is the longest range ListAvailableSlots and GetMyAgenda answer.
	MaxRange time.Duration
	// RollEvery is how often the roll-forward job (a River periodic job, run by the
	// elected leader among the replicas) looks for doctors to extend.
	RollEvery time.Duration
	// PruneEvery is how often the elected leader deletes the booking buckets that have
	// refilled (scheduling.prune_throttle); 0 turns it off.
	PruneEvery time.Duration
	// MinLead is how long before its start a slot may still be booked.
	MinLead time.Duration
	// PaymentWindow is how long a booked slot is held for its PIX payment (the charge's
	// expiry; Mercado Pago accepts 30 minutes to 30 days).
	PaymentWindow time.Duration
	// DoctorCacheTTL is how long booking (and the listing of free slots) keeps a
	// doctor's practice settings and VERIFIED standing before asking again (0: ask
	// each time).
	DoctorCacheTTL time.Duration
	// PaymentRetryAfter is when the ensure-payment job first retries a charge it could
	// not create (later retries back off).
	PaymentRetryAfter time.Duration
	// AnswerBefore is how long before the start a doctor must have answered; an
	// appointment still AWAITING_DOCTOR then counts as refused.
	AnswerBefore time.Duration
	// AnswerReminderLead is how long before the answer deadline a doctor who has not
	// answered is reminded; 0 sends no reminder.
	AnswerReminderLead time.Duration
	// MaxPendingBookings is how many bookings waiting for payment (PENDING_PAYMENT, hold
	// not over) a patient may hold at once.
	MaxPendingBookings int
	// BookingRate limits how many bookings a patient, and a client address, may start.
	BookingRate BookingRate
	// Policy is the patient cancellation policy.
	Policy CancellationPolicy
	// FinishEarly lets FinishAppointment end a confirmed consultation before its
	// window ends. No flag sets it: only `healthcore dev -demo` does, for its finish
	// control, so a newcomer reaches COMPLETED in minutes; serve never has it.
	FinishEarly bool
	// Jobs tunes the durable job runner.
	Jobs jobs.Options
}

// CancellationPolicy says what a patient's cancellation refunds. Before payment nothing
// was paid; while the doctor has not accepted, everything is refunded; once CONFIRMED,
// everything up to FullRefundBefore the start, and LatePercent of the price after that.
// A doctor's refusal (or silence) always refunds in full.
type CancellationPolicy struct {
	FullRefundBefore time.Duration
	LatePercent      int
}

// BookingRate limits booking attempts (refused ones too; not a retry with the key of a
// booking made) per patient and per client address, each a token bucket kept in PostgreSQL so
// every replica counts alike: PerPatient (or PerAddress) at once, then that many per
// Period, evenly spread. A refused attempt takes nothing. Zero turns a limit off.
type BookingRate struct {
	PerPatient int
	PerAddress int
	Period     time.Duration
}

// refund is what a cancellation at now refunds of an appointment.
func (p CancellationPolicy) refund(a appointment, now time.Time) int64 {
	switch {
	case a.state == statePending:
		return 0
	case a.state == stateAwaiting || a.start.Sub(now) >= p.FullRefundBefore:
		return a.price
	}
	return a.price * int64(p.LatePercent) / 100 // rounds down to the centavo
}

// quote is what a's patient would be refunded by cancelling at now, and until when that
// amount holds (zero when it holds until the start); ok is false when a can no longer be
// cancelled (cancel refuses it).
func (p CancellationPolicy) quote(a appointment, now time.Time) (refund int64, until time.Time, ok bool) {
	switch a.state {
	case statePending, stateAwaiting, stateConfirmed:
	default:
		return 0, time.Time{}, false
	}
	if !now.Before(a.start) {
		return 0, time.Time{}, false
	}
	if deadline := a.start.Add(-p.FullRefundBefore); a.state == stateConfirmed && !now.After(deadline) && p.LatePercent < 100 {
		until = deadline
	}
	return p.refund(a, now), until, true
}

// DefaultConfig is what production runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{
		Weeks: 8, MaxRange: 31 * 24 * time.Hour, RollEvery: 10 * time.Minute, PruneEvery: time.Hour,
		MinLead: time.Hour, PaymentWindow: 40 * time.Minute, PaymentRetryAfter: time.Minute, DoctorCacheTTL: 5 * time.Second, AnswerBefore: 10 * time.Minute,
		AnswerReminderLead: time.Hour,
		MaxPendingBookings: 2, BookingRate: BookingRate{PerPatient: 10, PerAddress: 100, Period: time.Hour},
		Policy: CancellationPolicy{FullRefundBefore: 24 * time.Hour, LatePercent: 50},
	}
}

// RegisterFlags binds the settings to flags named scheduling.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Weeks, "scheduling.weeks", c.Weeks, "weeks of bookable slots kept ahead")
	fs.DurationVar(&c.RollEvery, "scheduling.roll-every", c.RollEvery, "how often the roll-forward job runs")
	fs.DurationVar(&c.MinLead, "scheduling.min-lead", c.MinLead, "how long before its start a slot may still be booked")
	fs.DurationVar(&c.PaymentWindow, "scheduling.payment-window", c.PaymentWindow,
		"how long a booked slot waits for its PIX payment (the charge's expiry, at least 30m)")
	fs.DurationVar(&c.DoctorCacheTTL, "scheduling.doctor-cache-ttl", c.DoctorCacheTTL,
		"how long booking and the listing of free slots keep a doctor's price, listing and VERIFIED standing before asking the directory and identity again (0 = ask each time)")
	fs.DurationVar(&c.PaymentRetryAfter, "scheduling.payment-retry-after", c.PaymentRetryAfter,
		"when the ensure-payment job first retries a charge it could not create (the PIX provider unreachable); later retries back off")
	fs.DurationVar(&c.AnswerBefore, "scheduling.answer-before", c.AnswerBefore,
		"how long before the start a doctor must accept; later, the appointment counts as refused")
	fs.DurationVar(&c.AnswerReminderLead, "scheduling.answer-reminder-lead", c.AnswerReminderLead,
		"how long before the answer deadline a doctor who has not answered is reminded (0 = no reminder)")
	fs.IntVar(&c.MaxPendingBookings, "scheduling.max-pending-bookings", c.MaxPendingBookings,
		"bookings waiting for payment a patient may hold at once; more are refused with TOO_MANY_PENDING_BOOKINGS")
	fs.IntVar(&c.BookingRate.PerPatient, "scheduling.bookings-per-patient", c.BookingRate.PerPatient,
		"booking attempts a patient may make per -scheduling.booking-rate-period (that many at once, then evenly spread); 0 = no limit")
	fs.IntVar(&c.BookingRate.PerAddress, "scheduling.bookings-per-address", c.BookingRate.PerAddress,
		"booking attempts one client address (an IPv6 /64) may make per -scheduling.booking-rate-period; 0 = no limit")
	fs.DurationVar(&c.BookingRate.Period, "scheduling.booking-rate-period", c.BookingRate.Period,
		"the period of the booking rate limits")
	fs.DurationVar(&c.Policy.FullRefundBefore, "scheduling.full-refund-before", c.Policy.FullRefundBefore,
		"a patient cancelling a confirmed appointment at least this long before its start is refunded in full")
	fs.IntVar(&c.Policy.LatePercent, "scheduling.late-refund-percent", c.Policy.LatePercent,
		"percent of the price refunded for a later cancellation of a confirmed appointment")
	fs.DurationVar(&c.PruneEvery, "scheduling.prune-every", c.PruneEvery,
		"how often the booking rate limits' buckets that have refilled are deleted (0: never)")
	c.Jobs.RegisterFlags(fs, "scheduling")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	p.Check(c.Weeks >= 1 && c.Weeks <= 52, "scheduling.weeks=%d: must be 1 to 52", c.Weeks)
	p.Check(c.RollEvery >= time.Minute, "scheduling.roll-every=%s: must be at least 1m", c.RollEvery)
	p.Check(c.PruneEvery == 0 || c.PruneEvery >= time.Minute, "scheduling.prune-every=%s: must be 0 (off) or at least 1m", c.PruneEvery)
	p.Check(c.PaymentWindow >= 31*time.Minute && c.PaymentWindow <= 24*time.Hour,
		"scheduling.payment-window=%s: must be 31m to 24h (PIX charges expire 30 minutes to 30 days ahead)", c.PaymentWindow)
	p.Check(c.DoctorCacheTTL >= 0 && c.DoctorCacheTTL <= time.Minute,
		"scheduling.doctor-cache-ttl=%s: must be between 0s and 1m", c.DoctorCacheTTL)
	p.Check(c.PaymentRetryAfter >= time.Second && c.PaymentRetryAfter < c.PaymentWindow,
		"scheduling.payment-retry-after=%s: must be at least 1s and less than scheduling.payment-window (%s)", c.PaymentRetryAfter, c.PaymentWindow)
	p.Check(c.AnswerBefore >= 0 && c.AnswerBefore < c.MinLead, "scheduling.answer-before=%s: must be at least 0 and less than scheduling.min-lead (%s)", c.AnswerBefore, c.MinLead)
	p.Check(c.AnswerReminderLead >= 0, "scheduling.answer-reminder-lead=%s: must not be negative", c.AnswerReminderLead)
	p.Check(c.MinLead >= c.PaymentWindow, "scheduling.min-lead=%s: must be at least scheduling.payment-window (%s), so a slot is paid before it starts", c.MinLead, c.PaymentWindow)
	p.Check(c.MaxPendingBookings >= 1, "scheduling.max-pending-bookings=%d: must be at least 1", c.MaxPendingBookings)
	p.Check(c.BookingRate.PerPatient >= 0 && c.BookingRate.PerAddress >= 0,
		"scheduling.bookings-per-patient=%d, scheduling.bookings-per-address=%d: must not be negative (0 = no limit)",
		c.BookingRate.PerPatient, c.BookingRate.PerAddress)
	p.Check(c.BookingRate.Period >= time.Second, "scheduling.booking-rate-period=%s: must be at least 1s", c.BookingRate.Period)
	p.Check(c.Policy.FullRefundBefore >= 0, "scheduling.full-refund-before=%s: must not be negative", c.Policy.FullRefundBefore)
	p.Check(c.Policy.LatePercent >= 0 && c.Policy.LatePercent <= 100, "scheduling.late-refund-percent=%d: must be 0 to 100", c.Policy.LatePercent)
	c.Jobs.Check(p, "scheduling")
}

// Deps are what the service is built from.
type Deps struct {
	DB *pgxpool.Pool // search_path = scheduling
	// Directory gives each doctor's time zone, price and consultation length. Like
	// every client here, it must call as scheduling (send scheduling's service tokens).
	Directory directoryv1connect.DirectoryServiceClient
	// Payments starts, cancels and refunds appointments' charges.
	Payments paymentsv1connect.PaymentsServiceClient
	// Telehealth prepares the consultation room of an accepted appointment. Nil only
	// where no telehealth runs (tests of other services): then no room is prepared.
	Telehealth telehealthv1connect.TelehealthServiceClient
	// Notifications is told about the appointments' transitions (by jobs committed with
	// them). Nil only where no notifications service runs (tests of other services):
	// the jobs are still committed, and complete without sending.
	Notifications notificationsv1connect.NotificationsServiceClient
	// Identity says whether a doctor is verified (GetDoctorStatus) before each booking.
	// Without it every booking is refused IDENTITY_UNAVAILABLE.
	Identity identityv1connect.IdentityServiceClient
	// Clinics says whether a doctor is affiliated with a partner clinic before the
	// clinic's system acts for the doctor. Nil only where no clinics service runs
	// (tests of other services): then every partner call about a doctor is refused
	// NOT_AFFILIATED.
	Clinics clinicsv1connect.ClinicsServiceClient
	// Envelope seals what patients and doctors write (an appointment's reason, a
	// cancellation's justification, a refusal's reason) with data keys of the keys
	// service.
	Envelope *envelope.Envelope
	Logger   *slog.Logger
	Now      func() time.Time
}

// Service implements the SchedulingService RPCs.
type Service struct {
	cfg           Config
	practices     *doctorCache[practice]    // booking's copy of the directory's settings
	verified      *doctorCache[struct{}]    // doctors identity said VERIFIED
	affiliations  *doctorCache[affiliation] // "clinic/doctor" pairs clinics said affiliated
	clinics       clinicsv1connect.ClinicsServiceClient
	db            *pgxpool.Pool
	directory     directoryv1connect.DirectoryServiceClient
	payments      paymentsv1connect.PaymentsServiceClient
	telehealth    telehealthv1connect.TelehealthServiceClient
	notifications notificationsv1connect.NotificationsServiceClient
	identity      identityv1connect.IdentityServiceClient
	env           *envelope.Envelope
	jobs          *jobs.Client
	log           *slog.Logger
	now           func() time.Time

	appointments appointmentStore
	slots        slotStore
	availability availabilityStore
	throttle     throttleStore
	suspensions  suspensionStore
}

var _ schedulingv1connect.SchedulingServiceHandler = (*Service)(nil)

// New builds the service.
func New(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Directory == nil || d.Payments == nil {
		return nil, errors.New("scheduling: DB, Directory and Payments are required")
	}
	if d.Envelope == nil {
		return nil, errors.New("scheduling: Envelope is required (it seals appointments' reasons)")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{cfg: cfg, db: d.DB, directory: d.Directory, payments: d.Payments, telehealth: d.Telehealth,
		notifications: d.Notifications, identity: d.Identity, env: d.Envelope, log: d.Logger, now: d.Now,
		practices: newDoctorCache[practice](cfg.DoctorCacheTTL), verified: newDoctorCache[struct{}](cfg.DoctorCacheTTL),
		affiliations: newDoctorCache[affiliation](cfg.DoctorCacheTTL), clinics: d.Clinics}
	opts := cfg.Jobs
	opts.Periodic = append(slices.Clip(opts.Periodic), s.rollForwardJob(), s.sealTextsJob())
	if cfg.PruneEvery > 0 {
		opts.Periodic = append(opts.Periodic, jobs.Every(cfg.PruneEvery, pruneThrottleArgs{}))
	}
	var err error
	if s.jobs, err = jobs.New(d.DB, Schema.Name, s.workers(), d.Logger, opts); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the Connect handler, given the server's handler options.
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return schedulingv1connect.NewSchedulingServiceHandler(s, opts...)
}

// practice is what scheduling needs from the directory about a doctor.
type practice struct {
	loc     *time.Location
	zone    string
	price   int64
	minutes int
	listed  bool
}

var errNoPractice = ReasonProfileRequired.New("the doctor needs a directory profile with a time zone before setting availability")

// practiceOf asks the directory for the doctor's settings.
func (s *Service) practiceOf(ctx context.Context, doctorID string) (practice, error) {
	resp, err := s.directory.GetPracticeSettings(ctx, connect.NewRequest(&directoryv1.GetPracticeSettingsRequest{DoctorId: doctorID}))
	if errs.Has(err, ReasonDoctorNotFound) {
		return practice{}, errNoPractice
	}
	if err != nil {
		return practice{}, ReasonDirectoryUnavailable.New("the doctor directory cannot be reached; retry").WithCause(err)
	}
	m := resp.Msg
	p := practice{zone: m.GetTimeZone(), price: m.GetPrice().GetAmountCents(), minutes: int(m.GetConsultationMinutes()), listed: m.GetListed()}
	if p.zone == "" {
		return practice{}, errNoPractice
	}
	if p.loc, err = loadLocation(p.zone); err != nil {
		return practice{}, errs.Internal("scheduling: load the doctor's time zone", err)
	}
	return p, nil
}

// locations caches time zones: time.LoadLocation reads and parses zoneinfo each call,
// and every agenda listing needs one.
var locations sync.Map // name → *time.Location

func loadLocation(name string) (*time.Location, error) {
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	locations.Store(name, l)
	return l, nil
}

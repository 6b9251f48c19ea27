package scheduling

import (
	"context"
	"embed"
	"errors"
	"flag"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/config"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the scheduling service's PostgreSQL schema and its migrations.
var Schema = pg.Schema{Name: "scheduling", Migrations: pg.Dir(migrations, "migrations")}

// Config holds the scheduling service's settings.
type Config struct {
	// Weeks of slots kept materialised ahead.
	Weeks int
	// MaxRange is the longest range ListAvailableSlots and GetMyAgenda answer.
	MaxRange time.Duration
	// RollEvery is how often the roll-forward job looks for doctors to extend.
	RollEvery time.Duration
}

// DefaultConfig is what production runs with unless told otherwise.
func DefaultConfig() Config {
	return Config{Weeks: 8, MaxRange: 31 * 24 * time.Hour, RollEvery: 10 * time.Minute}
}

// RegisterFlags binds the settings to flags named scheduling.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.IntVar(&c.Weeks, "scheduling.weeks", c.Weeks, "weeks of bookable slots kept ahead")
	fs.DurationVar(&c.RollEvery, "scheduling.roll-every", c.RollEvery, "how often the roll-forward job runs")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	p.Check(c.Weeks >= 1 && c.Weeks <= 52, "scheduling.weeks=%d: must be 1 to 52", c.Weeks)
	p.Check(c.RollEvery >= time.Minute, "scheduling.roll-every=%s: must be at least 1m", c.RollEvery)
}

// Deps are what the service is built from.
type Deps struct {
	DB *pgxpool.Pool // search_path = scheduling
	// Directory gives each doctor's time zone, price and consultation length; it must
	// send the internal service credential.
	Directory directoryv1connect.DirectoryServiceClient
	Logger    *slog.Logger
	Now       func() time.Time
}

// Service implements the SchedulingService RPCs.
type Service struct {
	schedulingv1connect.UnimplementedSchedulingServiceHandler // booking lands in the next commits
	cfg                                                       Config
	db                                                        *pgxpool.Pool
	directory                                                 directoryv1connect.DirectoryServiceClient
	log                                                       *slog.Logger
	now                                                       func() time.Time
}

var _ schedulingv1connect.SchedulingServiceHandler = (*Service)(nil)

// New builds the service.
func New(d Deps, cfg Config) (*Service, error) {
	if d.DB == nil || d.Directory == nil {
		return nil, errors.New("scheduling: DB and Directory are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Service{cfg: cfg, db: d.DB, directory: d.Directory, log: d.Logger, now: d.Now}, nil
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

var errNoPractice = errs.FailedPrecondition("PROFILE_REQUIRED",
	"the doctor needs a directory profile with a time zone before setting availability")

// practiceOf asks the directory for the doctor's settings.
func (s *Service) practiceOf(ctx context.Context, doctorID string) (practice, error) {
	resp, err := s.directory.GetPracticeSettings(ctx, connect.NewRequest(&directoryv1.GetPracticeSettingsRequest{DoctorId: doctorID}))
	if connect.CodeOf(err) == connect.CodeNotFound {
		return practice{}, errNoPractice
	}
	if err != nil {
		return practice{}, errs.Unavailable("DIRECTORY_UNAVAILABLE", "the doctor directory cannot be reached; retry", err)
	}
	m := resp.Msg
	p := practice{zone: m.GetTimeZone(), price: m.GetPrice().GetAmountCents(), minutes: int(m.GetConsultationMinutes()), listed: m.GetListed()}
	if p.zone == "" {
		return practice{}, errNoPractice
	}
	if p.loc, err = loadLocation(p.zone); err != nil {
		return practice{}, errs.Internal(err)
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

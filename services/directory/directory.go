package directory

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/platform/pg"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Schema is the directory service's PostgreSQL schema and its migrations.
var Schema = pg.Schema{Name: "directory", Migrations: pg.Dir(migrations, "migrations")}

// Deps are what the service is built from.
type Deps struct {
	DB *pgxpool.Pool // search_path = directory
	// Scheduling confirms that a reviewed appointment is the patient's and COMPLETED
	// (internal credential). Without it, reviews answer UNAVAILABLE.
	Scheduling schedulingv1connect.SchedulingServiceClient
	Logger     *slog.Logger
	Now        func() time.Time
	// SearchIndexEvery is how often Run reads the doctors changed since its last read
	// into the in-memory search index; 0: no index, every search runs the query.
	SearchIndexEvery time.Duration
}

// Service implements the DirectoryService RPCs.
type Service struct {
	db          *pgxpool.Pool
	scheduling  schedulingv1connect.SchedulingServiceClient
	log         *slog.Logger
	now         func() time.Time
	specialties map[string]string // code → name, loaded once: the list changes only by migration
	ordered     []*directoryv1.Specialty

	doctors doctorStore
	reviews reviewStore
	search  searchStore
	index   *searchIndex // nil without Deps.SearchIndexEvery
	every   time.Duration
}

var _ directoryv1connect.DirectoryServiceHandler = (*Service)(nil)

// New builds the service and loads the specialty list.
func New(ctx context.Context, d Deps) (*Service, error) {
	if d.DB == nil {
		return nil, errors.New("directory: DB is required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{db: d.DB, scheduling: d.Scheduling, log: d.Logger, now: d.Now, specialties: map[string]string{}, every: d.SearchIndexEvery}
	var err error
	if s.ordered, err = s.doctors.specialties(ctx, d.DB); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	// Sorted here rather than by ORDER BY, whose answer depends on the database's
	// collation: under C (the private dev cluster's) "Cirurgia Vascular" comes before
	// "Cirurgia da Mão". Portuguese order ignores case and accents.
	byName := collate.New(language.BrazilianPortuguese)
	slices.SortFunc(s.ordered, func(a, b *directoryv1.Specialty) int { return byName.CompareString(a.Name, b.Name) })
	for _, sp := range s.ordered {
		s.specialties[sp.Code] = sp.Name
	}
	if d.SearchIndexEvery > 0 {
		s.index = newSearchIndex(d.DB, s.nameSpecialties, d.Logger, d.Now)
	}
	return s, nil
}

// Run keeps the search index (when there is one) until ctx ends; searches use the
// query until its first read completes.
func (s *Service) Run(ctx context.Context) error {
	if s.index == nil {
		<-ctx.Done()
		return nil
	}
	return s.index.Run(ctx, s.every)
}

// written brings this replica's search index up to a write just committed, so the
// writer's next search shows it; other replicas see it at their next read.
func (s *Service) written(ctx context.Context) {
	if s.index == nil || s.index.state.Load() == nil {
		return // the first read, when it comes, sees it
	}
	if err := s.index.refresh(ctx); err != nil {
		s.log.WarnContext(ctx, "search index: read after a write failed; the next read brings it", "err", err)
	}
}

// Handler returns the Connect handler, given the server's handler options. The server
// answers the gateway uncompressed (platform/server: gzip on both ends of the
// in-cluster hop cost more CPU than the search).
func (s *Service) Handler(opts ...connect.HandlerOption) (string, http.Handler) {
	return directoryv1connect.NewDirectoryServiceHandler(s, opts...)
}

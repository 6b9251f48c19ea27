package records

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/platform/jobs"
	"healthcore/platform/notify"
	"healthcore/platform/pg"
)

// What records tells, each by a "records.notify" job committed in the transaction of
// the change (a rollback tells nobody) and keyed by what it is about, so a retried job
// or request sends it once:
//
//	share granted   the doctor: who (the patient's name, read by notifications at delivery), until when
//	share revoked   the doctor
//	each day        each patient whose shared documents doctors read that day: how many
//	                reads, by which doctors (records.digest; notifications sends it only
//	                to patients who opted in)

type notifyArgs struct{ notify.Request }

func (notifyArgs) Kind() string { return "records.notify" }

// tellShare commits, in tx, the job telling the share's doctor about e.
func (s *Service) tellShare(ctx context.Context, tx pgx.Tx, sh *share, e notificationsv1.Event) error {
	d := &notificationsv1.ShareDetail{ShareId: sh.id, PatientId: sh.patientID, DoctorId: sh.doctorID}
	what := "revoked"
	if e == notificationsv1.Event_EVENT_SHARE_GRANTED {
		d.EndTime, what = timestamppb.New(sh.expiresAt), "granted"
	}
	_, err := s.jobs.InsertTx(ctx, tx, notifyArgs{notify.Request{Msg: &notificationsv1.NotifyRequest{
		IdempotencyKey: "share-" + sh.id + "-" + what + "-doctor", Event: e, RecipientId: sh.doctorID,
		Detail: &notificationsv1.NotifyRequest_Share{Share: d},
	}}}, nil)
	if err != nil {
		return fmt.Errorf("queue notice of share %s: %w", sh.id, err)
	}
	return nil
}

// digestZone is the day the read digest sums up: a Brazilian calendar day.
var digestZone = func() *time.Location {
	l, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		return time.FixedZone("BRT", -3*60*60) // no DST since 2019
	}
	return l
}()

// maxDigestDoctors is how many doctors one digest names (the proto's limit).
const maxDigestDoctors = 100

// digestArgs sums up one day's reads of shared documents. Unique by day, including
// completed jobs: the periodic job offers yesterday's digest every hour (so a day is
// not missed while no replica leads), and only the first offer runs.
type digestArgs struct {
	Day string `json:"day"` // YYYY-MM-DD, digestZone
}

func (digestArgs) Kind() string { return "records.digest" }

func (digestArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// digestJob offers yesterday's digest, every DigestEvery.
func (s *Service) digestJob() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(s.cfg.DigestEvery), func() (river.JobArgs, *river.InsertOpts) {
		y, m, d := s.now().In(digestZone).AddDate(0, 0, -1).Date()
		return digestArgs{Day: time.Date(y, m, d, 0, 0, 0, 0, digestZone).Format(time.DateOnly)}, nil
	}, &river.PeriodicJobOpts{ID: digestArgs{}.Kind(), RunOnStart: true})
}

// digest commits, in one transaction, a notice to every patient whose shared documents
// doctors read on day: the count of reads and who read. The keys name the patient and
// the day, so a rerun sends nothing twice.
func (s *Service) digest(ctx context.Context, day string) (int, error) {
	start, err := time.ParseInLocation(time.DateOnly, day, digestZone)
	if err != nil {
		return 0, river.JobCancel(fmt.Errorf("records: digest of day %q: %w", day, err))
	}
	var n int
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		reads, err := s.accessLog.doctorReads(ctx, tx, start, start.AddDate(0, 0, 1))
		if err != nil {
			return err
		}
		n = len(reads)
		for _, r := range reads {
			doctors := r.doctorIDs
			if len(doctors) > maxDigestDoctors {
				doctors = doctors[:maxDigestDoctors]
			}
			_, err := s.jobs.InsertTx(ctx, tx, notifyArgs{notify.Request{Msg: &notificationsv1.NotifyRequest{
				IdempotencyKey: "digest-" + r.patientID + "-" + day + "-patient",
				Event:          notificationsv1.Event_EVENT_SHARED_DOCUMENTS_READ_DIGEST, RecipientId: r.patientID,
				Detail: &notificationsv1.NotifyRequest_Digest{Digest: &notificationsv1.DigestDetail{
					Day: day, Reads: int32(min(r.reads, 1_000_000)), DoctorIds: doctors}},
			}}}, nil)
			if err != nil {
				return fmt.Errorf("queue digest of %s: %w", day, err)
			}
		}
		return nil
	})
	return n, err
}

func (s *Service) workers() *river.Workers {
	w := river.NewWorkers()
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[notifyArgs]) error {
		return notify.Send(ctx, s.notifications, s.log, j.Args.Request)
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, j *river.Job[digestArgs]) error {
		n, err := s.digest(ctx, j.Args.Day)
		if n > 0 {
			s.log.InfoContext(ctx, "read digests queued", "day", j.Args.Day, "patients", n)
		}
		return err
	}))
	river.AddWorker(w, river.WorkFunc(func(ctx context.Context, _ *river.Job[exportAccessLogArgs]) error {
		_, err := s.exportAccessLog(ctx, exportBatch)
		return err
	}))
	return w
}

// Run works the notification jobs and the daily digest until ctx ends, then waits for
// the access log entries still being written (the batches of appends through the
// pool, each bounded by its own timeout) to be committed.
//
// Meanwhile it chains the access-log entries left in the outbox (committed by a process
// that stopped before chaining them): at once, then every auditchain.SweepEvery, an empty
// outbox costing one query.
func (s *Service) Run(ctx context.Context) error {
	return s.accessLog.batch.During(ctx, s.log, func(ctx context.Context) error { return jobs.Run(ctx, s.jobs) })
}

package clinics

import (
	"context"
	"crypto/rand"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/timestamppb"

	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
)

// Partner events. Scheduling publishes each appointment transition of a doctor
// (PublishEvent, from a job committed with the transition); in one transaction clinics
// stores the event once (by its id) and queues a delivery, with its River job, for
// every endpoint subscribed to the type of every clinic the doctor is ACTIVE with. An
// event of a doctor no clinic holds or has invited is not stored (publish says why). The
// delivery job (deliver.go) POSTs it signed, in order per appointment and endpoint,
// and retries it for a day.

// deliverArgs is the job that sends one delivery.
type deliverArgs struct {
	DeliveryID string `json:"delivery_id"`
}

func (deliverArgs) Kind() string { return "clinics.deliver_event" }

// pruneEventsArgs is the hourly job that deletes what EventKeep no longer keeps.
type pruneEventsArgs struct{}

func (pruneEventsArgs) Kind() string { return "clinics.prune_events" }

// pruneEvents deletes settled deliveries and events older than EventKeep, 5000 rows a
// statement, until none is left.
func (s *Service) pruneEvents(ctx context.Context) error {
	before := s.now().Add(-s.cfg.EventKeep)
	for {
		n, err := s.events.prune(ctx, s.db, before, 5000)
		if err != nil || n == 0 {
			return err
		}
		s.log.InfoContext(ctx, "partner events pruned", slog.Int64("rows", n))
	}
}

// rotationOverlap is how long a rotated secret keeps signing beside the new one.
const rotationOverlap = 24 * time.Hour

var (
	errEndpointNotFound = ReasonEventEndpointNotFound.New("your clinic has no event endpoint with this id")
	errDeliveryNotFound = ReasonEventDeliveryNotFound.New("your clinic has no event delivery with this id")
)

// secretContext is the encryption context of the endpoints' signing secrets.
var secretContext = map[string]string{"service": "clinics", "purpose": "event-endpoint-secret"}

// callerClinic is the clinic of the calling partner client; "" for anyone else.
func callerClinic(ctx context.Context) string {
	p, _ := authn.FromContext(ctx)
	return p.ClinicID
}

// publish stores an event and fans it out; it returns the deliveries queued (0 for an
// event published before, or one of a doctor no clinic is engaged with).
//
// Which events are kept: an event goes to the endpoints of the clinics the doctor is
// ACTIVE with when clinics receives it (deliveries are made here only; a replay re-sends
// deliveries, never makes new ones), so an event of a doctor no clinic holds is
// delivered to no one, now or later. Such an event is still stored when a clinic has
// invited the doctor: an appointment's later events, delivered once the invitation is
// accepted, find its earlier ones stored and do not wait for them (waitTurn's gap
// wait). When no affiliation of the doctor is ACTIVE or INVITED — most doctors — the
// event is dropped after one indexed read, with no write: it could reach no one. The
// cost of that rule: an appointment whose earlier events were dropped before a clinic
// first invited the doctor has its later events, once delivered, wait EventGapWait for
// them, as for events lost on their way, and then go. A retry of a dropped event that
// comes after the acceptance is stored and delivered then, as a late one would be.
func (s *Service) publish(ctx context.Context, ev *clinicsv1.PartnerEvent) (int, error) {
	switch engaged, err := s.clinics.engaged(ctx, s.db, ev.GetDoctorId()); {
	case err != nil:
		return 0, errs.Internal("clinics: publish event", err)
	case !engaged:
		return 0, nil
	}
	body, err := protojson.Marshal(ev)
	if err != nil {
		return 0, errs.Internal("clinics: encode event", err)
	}
	n := 0
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		n = 0
		now := s.now().UTC().Truncate(time.Microsecond)
		fresh, err := s.events.insertEvent(ctx, tx, storedEvent{ID: ev.GetEventId(), AppointmentID: ev.GetAppointmentId(),
			Sequence: int(ev.GetSequence()), DoctorID: ev.GetDoctorId(), Type: ev.GetType().String(), Body: body, ReceivedAt: now})
		if err != nil || !fresh {
			return err
		}
		ids, err := s.events.subscribers(ctx, tx, ev.GetDoctorId(), ev.GetType().String())
		if err != nil {
			return err
		}
		for _, endpointID := range ids {
			d := delivery{ID: uuid.Must(uuid.NewV7()).String(), EndpointID: endpointID, EventID: ev.GetEventId(),
				AppointmentID: ev.GetAppointmentId(), Sequence: int(ev.GetSequence()), CreatedAt: now, RetryUntil: now.Add(s.cfg.EventRetryFor)}
			if err := s.events.insertDelivery(ctx, tx, d); err != nil {
				return err
			}
			if err := s.queue(ctx, tx, d.ID); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, errs.Internal("clinics: publish event", err)
	}
	if n > 0 {
		s.log.InfoContext(ctx, "event fanned out", slog.String("event_id", ev.GetEventId()), slog.String("type", ev.GetType().String()),
			slog.Int("deliveries", n))
	}
	return n, nil
}

// queue commits the job sending a delivery, in tx.
func (s *Service) queue(ctx context.Context, tx pgx.Tx, deliveryID string) error {
	_, err := s.jobs.InsertTx(ctx, tx, deliverArgs{DeliveryID: deliveryID}, nil)
	return err
}

// newSecret is a fresh signing secret.
func newSecret() string {
	return "whsec_" + rand.Text() // 26 base32 characters: 130 random bits
}

// createEndpoint registers an endpoint for the calling clinic and returns it with its
// secret in clear.
func (s *Service) createEndpoint(ctx context.Context, req *clinicsv1.CreateEventEndpointRequest) (endpoint, string, error) {
	if err := s.checkURL(req.GetUrl()); err != nil {
		return endpoint{}, "", err
	}
	clinicID := callerClinic(ctx)
	if clinicID == "" {
		return endpoint{}, "", errClinicNotFound
	}
	e := endpoint{ID: uuid.Must(uuid.NewV7()).String(), ClinicID: clinicID, URL: req.GetUrl(),
		CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	for _, t := range req.GetTypes() {
		e.Types = append(e.Types, t.String())
	}
	secret := newSecret()
	var err error
	if e.Secret, err = s.env.Seal(ctx, []byte(secret), secretContext, []byte(e.ID)); err != nil {
		return endpoint{}, "", errs.Internal("clinics: seal the endpoint's secret", err)
	}
	switch _, ok, err := s.clinics.get(ctx, s.db, clinicID); {
	case err != nil:
		return endpoint{}, "", errs.Internal("clinics: create event endpoint", err)
	case !ok:
		return endpoint{}, "", errClinicNotFound
	}
	if err := s.events.insertEndpoint(ctx, s.db, e); err != nil {
		return endpoint{}, "", errs.Internal("clinics: create event endpoint", err)
	}
	s.log.InfoContext(ctx, "event endpoint created", slog.String("clinic_id", clinicID), slog.String("endpoint_id", e.ID))
	return e, secret, nil
}

// listEndpoints lists the calling clinic's endpoints.
func (s *Service) listEndpoints(ctx context.Context) ([]endpoint, error) {
	list, err := s.events.endpoints(ctx, s.db, callerClinic(ctx))
	if err != nil {
		return nil, errs.Internal("clinics: list event endpoints", err)
	}
	return list, nil
}

// deleteEndpoint deletes one of the calling clinic's endpoints.
func (s *Service) deleteEndpoint(ctx context.Context, id string) error {
	ok, err := s.events.deleteEndpoint(ctx, s.db, callerClinic(ctx), id, s.now())
	switch {
	case err != nil:
		return errs.Internal("clinics: delete event endpoint", err)
	case !ok:
		return errEndpointNotFound
	}
	s.log.InfoContext(ctx, "event endpoint deleted", slog.String("clinic_id", callerClinic(ctx)), slog.String("endpoint_id", id))
	return nil
}

// rotateSecret gives one of the calling clinic's endpoints a new secret; the current
// one signs beside it for rotationOverlap.
func (s *Service) rotateSecret(ctx context.Context, id string) (endpoint, string, error) {
	secret := newSecret()
	sealed, err := s.env.Seal(ctx, []byte(secret), secretContext, []byte(id))
	if err != nil {
		return endpoint{}, "", errs.Internal("clinics: seal the endpoint's secret", err)
	}
	var out endpoint
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		e, ok, err := s.events.endpoint(ctx, tx, callerClinic(ctx), id, true)
		if err != nil {
			return err
		}
		if !ok {
			return errEndpointNotFound
		}
		until := s.now().UTC().Truncate(time.Microsecond).Add(rotationOverlap)
		if err := s.events.rotate(ctx, tx, id, sealed, e.Secret, until); err != nil {
			return err
		}
		e.Previous, e.PreviousUntil, e.Secret = e.Secret, &until, sealed
		out = e
		return nil
	})
	if errs.Has(err, ReasonEventEndpointNotFound) {
		return endpoint{}, "", err
	}
	if err != nil {
		return endpoint{}, "", errs.Internal("clinics: rotate the endpoint's secret", err)
	}
	s.log.InfoContext(ctx, "event endpoint secret rotated", slog.String("clinic_id", callerClinic(ctx)), slog.String("endpoint_id", id))
	return out, secret, nil
}

// listDeliveries reads a page of the calling clinic's delivery log.
func (s *Service) listDeliveries(ctx context.Context, req *clinicsv1.ListEventDeliveriesRequest) ([]delivery, string, error) {
	clinicID := callerClinic(ctx)
	filter := pagetoken.Filter("deliveries", clinicID, req.GetEndpointId(), req.GetEventId())
	after, err := pagetoken.Decode(req.GetPageToken(), filter, func(id string) bool { return uuid.Validate(id) == nil })
	if err != nil {
		return nil, "", err
	}
	limit := int(req.GetPageSize())
	if limit == 0 {
		limit = 50
	}
	list, err := s.events.deliveries(ctx, s.db, deliveryFilter{ClinicID: clinicID, EndpointID: req.GetEndpointId(),
		EventID: req.GetEventId(), After: after, Limit: limit + 1})
	if err != nil {
		return nil, "", errs.Internal("clinics: list event deliveries", err)
	}
	next := ""
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		next = pagetoken.Encode(filter, last.CreatedAt, last.ID)
	}
	return list, next, nil
}

// replay queues again one of the calling clinic's deliveries, or every delivery of one
// of its endpoints since a time.
func (s *Service) replay(ctx context.Context, req *clinicsv1.ReplayEventDeliveryRequest) (int, error) {
	clinicID := callerClinic(ctx)
	var since *time.Time
	if req.GetSince() != nil {
		t := req.GetSince().GetStartTime().AsTime()
		since = &t
	}
	var ids []string
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if id := req.GetSince().GetEndpointId(); id != "" {
			switch _, ok, err := s.events.endpoint(ctx, tx, clinicID, id, false); {
			case err != nil:
				return err
			case !ok:
				return errEndpointNotFound
			}
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		var settled []string
		var err error
		ids, settled, err = s.events.replay(ctx, tx, clinicID, req.GetDeliveryId(), req.GetSince().GetEndpointId(), since, now, now.Add(s.cfg.EventRetryFor))
		if err != nil {
			return err
		}
		if req.GetDeliveryId() != "" && len(ids) == 0 {
			return errDeliveryNotFound
		}
		for _, id := range settled { // a pending one's job is still on its way
			if err := s.queue(ctx, tx, id); err != nil {
				return err
			}
		}
		return nil
	})
	if errs.ReasonOf(err) != "" {
		return 0, err
	}
	if err != nil {
		return 0, errs.Internal("clinics: replay event deliveries", err)
	}
	s.log.InfoContext(ctx, "event deliveries replayed", slog.String("clinic_id", clinicID), slog.Int("deliveries", len(ids)))
	return len(ids), nil
}

var deliveryStateProto = map[string]clinicsv1.DeliveryState{
	"pending":   clinicsv1.DeliveryState_DELIVERY_STATE_PENDING,
	"delivered": clinicsv1.DeliveryState_DELIVERY_STATE_DELIVERED,
	"failed":    clinicsv1.DeliveryState_DELIVERY_STATE_FAILED,
}

func optTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

func (e endpoint) proto(now time.Time) *clinicsv1.EventEndpoint {
	out := &clinicsv1.EventEndpoint{EndpointId: e.ID, Url: e.URL, CreateTime: timestamppb.New(e.CreatedAt)}
	for _, t := range e.Types {
		out.Types = append(out.Types, clinicsv1.EventType(clinicsv1.EventType_value[t]))
	}
	if e.PreviousUntil != nil && e.PreviousUntil.After(now) {
		out.PreviousSecretExpireTime = timestamppb.New(*e.PreviousUntil)
	}
	return out
}

func (d delivery) proto() *clinicsv1.EventDelivery {
	out := &clinicsv1.EventDelivery{
		DeliveryId: d.ID, EndpointId: d.EndpointID, EventId: d.EventID, Type: clinicsv1.EventType(clinicsv1.EventType_value[d.Type]),
		AppointmentId: d.AppointmentID, Sequence: uint32(d.Sequence), State: deliveryStateProto[d.State], Attempts: int32(d.Attempts),
		LastStatusCode: int32(d.LastStatus), LastError: d.LastError, DeliverTime: optTime(d.DeliveredAt), CreateTime: timestamppb.New(d.CreatedAt),
	}
	if d.State == "pending" {
		out.NextAttemptTime = optTime(d.NextAttemptAt)
	}
	return out
}

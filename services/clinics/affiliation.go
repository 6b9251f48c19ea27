package clinics

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	"healthcore/platform/authn"
	"healthcore/platform/br"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// Affiliation states, as stored.
const (
	stateInvited  = "invited"
	stateActive   = "active"
	stateDeclined = "declined"
	stateEnded    = "ended"
)

var stateProto = map[string]clinicsv1.AffiliationState{
	stateInvited:  clinicsv1.AffiliationState_AFFILIATION_STATE_INVITED,
	stateActive:   clinicsv1.AffiliationState_AFFILIATION_STATE_ACTIVE,
	stateDeclined: clinicsv1.AffiliationState_AFFILIATION_STATE_DECLINED,
	stateEnded:    clinicsv1.AffiliationState_AFFILIATION_STATE_ENDED,
}

var (
	errClinicNotFound      = ReasonClinicNotFound.New("no clinic has this id")
	errAffiliationNotFound = ReasonAffiliationNotFound.New("this clinic has not invited you")
)

// createClinic registers a clinic.
func (s *Service) createClinic(ctx context.Context, req *clinicsv1.CreateClinicRequest) (clinic, error) {
	cnpj, err := br.NormalizeCNPJ(req.GetCnpj())
	if err != nil {
		return clinic{}, ReasonCNPJInvalid.New(err.Error()).WithViolations(errs.Violation{Field: "cnpj", Description: err.Error()})
	}
	p, _ := authn.FromContext(ctx)
	c := clinic{
		ID: uuid.Must(uuid.NewV7()).String(), CNPJ: cnpj, Name: strings.TrimSpace(req.GetName()),
		Email: strings.ToLower(strings.TrimSpace(req.GetEmail())), Phone: req.GetPhone(),
		CreatedAt: s.now().UTC().Truncate(time.Microsecond),
	}
	switch err := s.clinics.insert(ctx, s.db, c, p.UserID); {
	case err == errCNPJTaken:
		return clinic{}, ReasonClinicExists.New("a clinic with this CNPJ is registered: " + br.FormatCNPJ(cnpj))
	case err != nil:
		return clinic{}, errs.Internal("clinics: create clinic", err)
	}
	s.log.InfoContext(ctx, "clinic created", slog.String("clinic_id", c.ID), slog.String("actor_id", p.UserID))
	return c, nil
}

// getClinic returns a clinic with its affiliations.
func (s *Service) getClinic(ctx context.Context, id string) (clinic, []affiliation, error) {
	c, ok, err := s.clinics.get(ctx, s.db, id)
	switch {
	case err != nil:
		return clinic{}, nil, errs.Internal("clinics: get clinic", err)
	case !ok:
		return clinic{}, nil, errClinicNotFound
	}
	list, err := s.clinics.ofClinic(ctx, s.db, id)
	if err != nil {
		return clinic{}, nil, errs.Internal("clinics: get clinic", err)
	}
	return c, list, nil
}

// invite invites the doctor to the clinic for the operator calling; an invitation
// pending or an affiliation active is answered as it is.
func (s *Service) invite(ctx context.Context, clinicID, doctorID string) (affiliation, error) {
	return s.change(ctx, clinicID, doctorID, "invite", func(tx pgx.Tx, _ affiliation, found bool, now time.Time) (bool, error) {
		_, ok, err := s.clinics.get(ctx, tx, clinicID)
		switch {
		case err != nil:
			return false, err
		case !ok:
			return false, errClinicNotFound
		}
		return s.clinics.invite(ctx, tx, clinicID, doctorID, now)
	})
}

// answer moves the calling doctor's affiliation with the clinic: from the states in
// from to state (delegation kept only when it stays active); already in state is
// answered as it is; any other state is AFFILIATION_STATE.
func (s *Service) answer(ctx context.Context, clinicID, action, state string, from ...string) (affiliation, error) {
	p, _ := authn.FromContext(ctx)
	return s.change(ctx, clinicID, p.UserID, action, func(tx pgx.Tx, a affiliation, found bool, now time.Time) (bool, error) {
		switch {
		case !found:
			return false, errAffiliationNotFound
		case a.State == state:
			return false, nil
		case !slices.Contains(from, a.State):
			return false, ReasonAffiliationState.New("the affiliation is " + a.State + ": it cannot be " + pastTense[action])
		}
		return true, s.clinics.set(ctx, tx, clinicID, p.UserID, state, false, now)
	})
}

var pastTense = map[string]string{"accept": "accepted", "decline": "declined", "end": "ended"}

// delegate grants or revokes the clinic the answering of the calling doctor's
// appointments, on an active affiliation.
func (s *Service) delegate(ctx context.Context, clinicID string, on bool) (affiliation, error) {
	p, _ := authn.FromContext(ctx)
	action := "revoke_delegation"
	if on {
		action = "delegate"
	}
	return s.change(ctx, clinicID, p.UserID, action, func(tx pgx.Tx, a affiliation, found bool, now time.Time) (bool, error) {
		switch {
		case !found:
			return false, errAffiliationNotFound
		case a.State != stateActive:
			return false, ReasonAffiliationState.New("the affiliation is " + a.State + ": only an active one carries a delegation")
		case a.Delegated == on:
			return false, nil
		}
		return true, s.clinics.set(ctx, tx, clinicID, p.UserID, stateActive, on, now)
	})
}

// change runs step on the (clinic, doctor) affiliation, locked until the transaction
// ends so that concurrent steps (a double accept) serialise; when step changed it, the
// change is written to the history with the caller as actor, and logged. Declared
// reasons step returns are answered as they are. It returns the affiliation after.
func (s *Service) change(ctx context.Context, clinicID, doctorID, action string,
	step func(tx pgx.Tx, a affiliation, found bool, now time.Time) (bool, error)) (affiliation, error) {
	p, _ := authn.FromContext(ctx)
	var out affiliation
	var denial error
	changed := false
	err := pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		denial, changed = nil, false
		a, found, err := s.clinics.affiliation(ctx, tx, clinicID, doctorID, true)
		if err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Microsecond)
		changed, err = step(tx, a, found, now)
		if errs.ReasonOf(err) != "" {
			denial = err
			return nil
		}
		if err != nil {
			return err
		}
		if changed {
			if err := s.clinics.record(ctx, tx, clinicID, doctorID, action, p.UserID, authn.RoleName(p.Role), now); err != nil {
				return err
			}
		}
		out, _, err = s.clinics.affiliation(ctx, tx, clinicID, doctorID, false)
		return err
	})
	if err != nil {
		return affiliation{}, errs.Internal("clinics: "+action, err)
	}
	if denial != nil {
		return affiliation{}, denial
	}
	if changed {
		s.log.InfoContext(ctx, "affiliation "+action, slog.String("clinic_id", clinicID), slog.String("doctor_id", doctorID),
			slog.String("state", out.State), slog.Bool("answers_delegated", out.Delegated),
			slog.String("actor_id", p.UserID), slog.String("actor_role", authn.RoleName(p.Role)))
	}
	return out, nil
}

func (c clinic) proto() *clinicsv1.Clinic {
	return &clinicsv1.Clinic{ClinicId: c.ID, Cnpj: c.CNPJ, Name: c.Name, Email: c.Email, Phone: c.Phone, CreateTime: timestamppb.New(c.CreatedAt)}
}

func (a affiliation) proto() *clinicsv1.Affiliation {
	return &clinicsv1.Affiliation{
		ClinicId: a.ClinicID, ClinicName: a.ClinicName, DoctorId: a.DoctorID, State: stateProto[a.State],
		AnswersDelegated: a.Delegated, InviteTime: timestamppb.New(a.InvitedAt), UpdateTime: timestamppb.New(a.UpdatedAt),
	}
}

func affiliationsProto(list []affiliation) []*clinicsv1.Affiliation {
	out := make([]*clinicsv1.Affiliation, len(list))
	for i, a := range list {
		out[i] = a.proto()
	}
	return out
}

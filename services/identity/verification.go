package identity

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/pagetoken"
	"healthcore/platform/pg"
)

// What an operator needs to verify a doctor, and what the doctor and the operator see
// of it. The decisions themselves are in decide.go.

// submitVerification stores the calling doctor's evidence: the card goes to blobs
// (sealed) first, then the row and the audit entry commit together; a card no row
// names (the row failed, or a new submission replaced it) is deleted.
func (s *Service) submitVerification(ctx context.Context, r *identityv1.SubmitVerificationRequest) (*identityv1.Verification, error) {
	p, _ := authn.FromContext(ctx)
	a, err := s.account(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	if normalizeCRM(r.GetCrm().GetNumber()) != a.CRMNumber || r.GetCrm().GetUf() != a.CRMUF {
		return nil, ReasonCRMMismatch.New("the CRM confirmed is not the one the account was registered with").
			WithViolations(errs.Violation{Field: "crm", Description: "must be the account's CRM number and UF"})
	}
	contentType := cardType(r.GetCard())
	if contentType == "" {
		return nil, ReasonCardTypeNotAllowed.New("the card must be a JPEG, PNG or PDF file").
			WithViolations(errs.Violation{Field: "card", Description: "the bytes of a JPEG, PNG or PDF file"})
	}
	if a.DoctorStatus != doctorPending {
		return nil, errStatusConflict("evidence is taken only while the verification is pending")
	}
	e := evidence{DoctorID: a.ID, CardKey: "identity/crm-cards/" + uuid.NewString(), CardContentType: contentType,
		CardSize: int64(len(r.GetCard())), SubmittedAt: s.now().UTC().Truncate(time.Microsecond)}
	for _, sp := range r.GetSpecialties() {
		e.Specialties = append(e.Specialties, claimedSpecialty{Code: sp.GetCode(), RQE: sp.GetRqe()})
	}
	if e.CardDataKey, err = s.storeCard(ctx, a.ID, e.CardKey, r.GetCard()); err != nil {
		return nil, errs.Internal("identity: store CRM card", err)
	}
	var replaced string
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		d, ok, err := s.verifications.doctorForUpdate(ctx, tx, a.ID)
		switch {
		case err != nil:
			return err
		case !ok || d.DoctorStatus != doctorPending: // decided meanwhile
			return errStatusConflict("evidence is taken only while the verification is pending")
		}
		if replaced, err = s.verifications.putEvidence(ctx, tx, e); err != nil {
			return err
		}
		return s.audit(ctx, tx, actDoctorSubmit, "", a.ID, outcomeOK)
	})
	if err != nil {
		s.removeCard(ctx, e.CardKey)
		if errs.Has(err, ReasonDoctorStatusConflict) {
			return nil, err
		}
		return nil, errs.Internal("identity: submit verification", err)
	}
	if replaced != "" {
		s.removeCard(ctx, replaced)
	}
	return s.verification(ctx, s.db, a)
}

// myVerification is the calling doctor's verification.
func (s *Service) myVerification(ctx context.Context) (*identityv1.Verification, error) {
	p, _ := authn.FromContext(ctx)
	a, err := s.account(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	return s.verification(ctx, s.db, a)
}

// verification is doctor a's status, last reason and evidence.
func (s *Service) verification(ctx context.Context, q pg.Querier, a account) (*identityv1.Verification, error) {
	v := &identityv1.Verification{DoctorId: a.ID, Name: a.Name, Crm: &identityv1.Crm{Number: a.CRMNumber, Uf: a.CRMUF},
		Status: doctorStatuses[a.DoctorStatus], UpdateTime: timestamppb.New(a.DoctorStatusAt)}
	reason, err := s.verifications.lastReason(ctx, q, a.ID)
	if err != nil {
		return nil, errs.Internal("identity: read verification", err)
	}
	v.Reason = reason
	e, ok, err := s.verifications.getEvidence(ctx, q, a.ID)
	if err != nil {
		return nil, errs.Internal("identity: read verification", err)
	}
	if ok {
		v.Evidence = &identityv1.Evidence{Specialties: specialtiesProto(e.Specialties), CardContentType: e.CardContentType,
			CardSizeBytes: e.CardSize, SubmitTime: timestamppb.New(e.SubmittedAt)}
	}
	return v, nil
}

func specialtiesProto(in []claimedSpecialty) []*identityv1.ClaimedSpecialty {
	out := make([]*identityv1.ClaimedSpecialty, 0, len(in))
	for _, sp := range in {
		out = append(out, &identityv1.ClaimedSpecialty{Code: sp.Code, Rqe: sp.RQE})
	}
	return out
}

// Page sizes of ListPendingDoctors.
const (
	defaultPendingPage = 50
	maxPendingPage     = 200
)

// listPendingDoctors pages through the doctors awaiting a decision.
func (s *Service) listPendingDoctors(ctx context.Context, r *identityv1.ListPendingDoctorsRequest) (*identityv1.ListPendingDoctorsResponse, error) {
	size := int(r.GetPageSize())
	if size == 0 {
		size = defaultPendingPage
	}
	size = min(size, maxPendingPage)
	filter := pagetoken.Filter("pending-doctors")
	c, err := pagetoken.Decode(r.GetPageToken(), filter, func(id string) bool { return uuid.Validate(id) == nil })
	if err != nil {
		return nil, err
	}
	var after *time.Time
	var afterID string
	if c != nil {
		t := c.Time()
		after, afterID = &t, c.ID
	}
	rows, err := s.verifications.pending(ctx, s.db, after, afterID, size+1)
	if err != nil {
		return nil, errs.Internal("identity: list pending doctors", err)
	}
	out := &identityv1.ListPendingDoctorsResponse{}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[size-1]
		out.NextPageToken = pagetoken.Encode(filter, last.CreatedAt, last.ID)
	}
	for _, a := range rows {
		v, err := s.verification(ctx, s.db, a)
		if err != nil {
			return nil, err
		}
		out.Doctors = append(out.Doctors, v)
	}
	return out, nil
}

// doctorVerification is what an operator decides on: the doctor's verification and
// evidence, the registry's answer for the CRM, the competing claims and the decisions.
// The read is audited.
func (s *Service) doctorVerification(ctx context.Context, id string) (*identityv1.GetDoctorVerificationResponse, error) {
	a, err := s.doctor(ctx, id)
	if err != nil {
		return nil, err
	}
	v, err := s.verification(ctx, s.db, a)
	if err != nil {
		return nil, err
	}
	out := &identityv1.GetDoctorVerificationResponse{Verification: v, Email: a.Email, Registry: s.lookupRegistry(ctx, a)}
	claims, err := s.verifications.claims(ctx, s.db, a.CRMNumber, a.CRMUF)
	if err != nil {
		return nil, errs.Internal("identity: read competing claims", err)
	}
	for _, c := range claims {
		if c.ID == a.ID {
			continue
		}
		cv, err := s.verification(ctx, s.db, c)
		if err != nil {
			return nil, err
		}
		out.CompetingClaims = append(out.CompetingClaims, cv)
	}
	decisions, err := s.verifications.decisions(ctx, s.db, a.ID)
	if err != nil {
		return nil, errs.Internal("identity: read decisions", err)
	}
	for _, d := range decisions {
		out.Decisions = append(out.Decisions, &identityv1.Decision{FromStatus: doctorStatuses[d.From], ToStatus: doctorStatuses[d.To],
			Reason: d.Reason, OperatorId: d.OperatorID, DecideTime: timestamppb.New(d.At)})
	}
	if err := s.audit(ctx, s.db, actDoctorRead, "", a.ID, outcomeOK); err != nil {
		return nil, errs.Internal("identity: audit doctor read", err)
	}
	return out, nil
}

// lookupRegistry asks the CRM registry about a's CRM. A failure is shown to the
// operator, not returned: the registry informs the decision, it does not make it.
func (s *Service) lookupRegistry(ctx context.Context, a account) *identityv1.RegistryRecord {
	out := &identityv1.RegistryRecord{Source: s.registry.Source()}
	r, ok, err := s.registry.Lookup(ctx, a.CRMNumber, a.CRMUF)
	if err != nil {
		s.log.WarnContext(ctx, "CRM registry lookup failed", "error", err.Error())
		out.Error = "the registry could not be asked: " + err.Error()
		return out
	}
	if ok {
		out.Found, out.Name, out.Situation = true, r.Name, r.Situation
		for _, sp := range r.Specialties {
			out.Specialties = append(out.Specialties, &identityv1.ClaimedSpecialty{Code: sp.Code, Rqe: sp.RQE})
		}
	}
	return out
}

// doctorCard returns the doctor's CRM card, decrypted; the download is audited.
func (s *Service) doctorCard(ctx context.Context, id string) (contentType string, card []byte, err error) {
	a, err := s.doctor(ctx, id)
	if err != nil {
		return "", nil, err
	}
	e, ok, err := s.verifications.getEvidence(ctx, s.db, a.ID)
	if err != nil {
		return "", nil, errs.Internal("identity: read evidence", err)
	}
	if !ok {
		return "", nil, ReasonEvidenceMissing.New("the doctor has submitted no evidence yet")
	}
	if card, err = s.openCard(ctx, e); err != nil {
		return "", nil, errs.Internal("identity: open CRM card", err)
	}
	if err := s.audit(ctx, s.db, actDoctorReadCard, "", a.ID, outcomeOK); err != nil {
		return "", nil, errs.Internal("identity: audit card download", err)
	}
	return e.CardContentType, card, nil
}

// doctor returns the doctor account with id, or ACCOUNT_NOT_FOUND.
func (s *Service) doctor(ctx context.Context, id string) (account, error) {
	a, err := s.account(ctx, id)
	if err != nil {
		return account{}, err
	}
	if a.Role != accessv1.Role_ROLE_DOCTOR {
		return account{}, ReasonAccountNotFound.New("no doctor account has this id")
	}
	return a, nil
}

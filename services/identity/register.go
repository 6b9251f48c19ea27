package identity

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/br"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

// registerPatient creates a patient account with its personal fields sealed.
func (s *Service) registerPatient(ctx context.Context, r *identityv1.RegisterPatientRequest) (account, error) {
	cpf, err := br.NormalizeCPF(r.GetCpf())
	if err != nil {
		return account{}, errs.InvalidArgument("CPF_INVALID", err.Error(), errs.Violation{Field: "cpf", Description: err.Error()})
	}
	if err := s.checkBirthDate(r.GetBirthDate()); err != nil {
		return account{}, err
	}
	a := account{ID: uuid.Must(uuid.NewV7()).String(), Role: accessv1.Role_ROLE_PATIENT, Name: r.GetName(), Email: normalizeEmail(r.GetEmail())}
	pii, err := s.sealPII(ctx, a.ID, patientPII{CPF: cpf, Phone: r.GetPhone(), BirthDate: r.GetBirthDate()})
	if err != nil {
		return account{}, errs.Internal("identity: registerPatient", err)
	}
	a.PII = pii
	return s.insertAccount(ctx, a, r.GetPassword(), s.blindIndex("cpf", cpf))
}

// registerDoctor creates a doctor account named by CRM and UF.
func (s *Service) registerDoctor(ctx context.Context, r *identityv1.RegisterDoctorRequest) (account, error) {
	a := account{
		ID: uuid.Must(uuid.NewV7()).String(), Role: accessv1.Role_ROLE_DOCTOR, Name: r.GetName(), Email: normalizeEmail(r.GetEmail()),
		CRMNumber: normalizeCRM(r.GetCrm().GetNumber()), CRMUF: r.GetCrm().GetUf(),
	}
	return s.insertAccount(ctx, a, r.GetPassword(), nil)
}

func (s *Service) insertAccount(ctx context.Context, a account, password string, cpfIndex []byte) (account, error) {
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return account{}, errs.Internal("identity: insertAccount", err)
	}
	a.PasswordHash, a.CreatedAt = hash, s.now().UTC().Truncate(time.Microsecond)
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO accounts (id, role, name, email, password_hash, crm_number, crm_uf, cpf_index, pii, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, NULLIF($6, ''), NULLIF($7, ''), $8, $9, $10, $10)`,
			a.ID, authn.RoleName(a.Role), a.Name, a.Email, a.PasswordHash, a.CRMNumber, a.CRMUF, cpfIndex, a.PII, a.CreatedAt)
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, actRegister, a.ID, a.ID, outcomeOK)
	})
	if pg.IsUniqueViolation(err) {
		return account{}, errAccountExists.WithCause(err)
	}
	if err != nil {
		return account{}, errs.Internal("identity: insertAccount", err)
	}
	return a, nil
}

// checkBirthDate accepts a real calendar date in the past, at most 130 years ago.
func (s *Service) checkBirthDate(d string) error {
	t, err := time.Parse(time.DateOnly, d)
	now := s.now()
	switch {
	case err != nil:
		err = errors.New("not a calendar date (YYYY-MM-DD)")
	case t.After(now):
		err = errors.New("is in the future")
	case t.Before(now.AddDate(-130, 0, 0)):
		err = errors.New("is more than 130 years ago")
	}
	if err != nil {
		return errs.InvalidArgument("BIRTH_DATE_INVALID", "birth_date "+err.Error(),
			errs.Violation{Field: "birth_date", Description: err.Error()})
	}
	return nil
}

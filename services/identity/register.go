package identity

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/br"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
	"healthcore/platform/server"
)

// RegisterLimit bounds registrations per client address (an IPv6 client by its /64):
// PerAddress in a fixed Window, counted before any work, whatever the outcome.
type RegisterLimit struct {
	PerAddress int
	Window     time.Duration
}

// DefaultRegisterLimit allows 20 registrations an hour from one address: a family or a
// clinic's front desk, and the README's walk-through, fit.
var DefaultRegisterLimit = RegisterLimit{PerAddress: 20, Window: time.Hour}

// reserveRegistration counts a registration against the client's address and refuses
// it beyond the limit, saying when the window ends.
func (s *Service) reserveRegistration(ctx context.Context) error {
	addr := server.ClientAddr(ctx)
	if addr == "" {
		return nil
	}
	l, now := s.cfg.Register, s.now()
	n, began, err := s.throttle.countInWindow(ctx, s.db, "register:"+server.AddrBlock(addr), now, now.Add(-l.Window))
	if err != nil {
		return errs.Internal("identity: count registration", err)
	}
	if n > l.PerAddress {
		return ReasonRegistrationThrottled.New("too many registrations from this address: wait before trying again").
			WithRetryAfter(wholeSeconds(began.Add(l.Window).Sub(now)))
	}
	return nil
}

// registerPatient creates a patient account with its personal fields sealed.
func (s *Service) registerPatient(ctx context.Context, r *identityv1.RegisterPatientRequest) (account, error) {
	if err := s.reserveRegistration(ctx); err != nil {
		return account{}, err
	}
	cpf, err := br.NormalizeCPF(r.GetCpf())
	if err != nil {
		return account{}, errCPFInvalid(err)
	}
	if err := s.checkBirthDate(r.GetBirthDate()); err != nil {
		return account{}, err
	}
	if err := s.checkPassword(ctx, r.GetPassword(), passwordOwner{name: r.GetName(), email: normalizeEmail(r.GetEmail()), cpf: cpf}); err != nil {
		return account{}, err
	}
	a := account{ID: uuid.Must(uuid.NewV7()).String(), Role: accessv1.Role_ROLE_PATIENT, Name: r.GetName(), Email: normalizeEmail(r.GetEmail())}
	pii, err := s.sealPII(ctx, a.ID, patientPII{CPF: cpf, Phone: r.GetPhone(), BirthDate: r.GetBirthDate()})
	if err != nil {
		return account{}, errs.Internal("identity: seal patient's personal fields", err)
	}
	a.PII = pii
	return s.insertAccount(ctx, a, r.GetPassword(), s.blindIndex("cpf", cpf))
}

// registerDoctor creates a doctor account named by CRM and UF.
func (s *Service) registerDoctor(ctx context.Context, r *identityv1.RegisterDoctorRequest) (account, error) {
	if err := s.reserveRegistration(ctx); err != nil {
		return account{}, err
	}
	a := account{
		ID: uuid.Must(uuid.NewV7()).String(), Role: accessv1.Role_ROLE_DOCTOR, Name: r.GetName(), Email: normalizeEmail(r.GetEmail()),
		CRMNumber: normalizeCRM(r.GetCrm().GetNumber()), CRMUF: r.GetCrm().GetUf(),
	}
	if err := s.checkPassword(ctx, r.GetPassword(), passwordOwner{name: a.Name, email: a.Email, crm: a.CRMNumber}); err != nil {
		return account{}, err
	}
	return s.insertAccount(ctx, a, r.GetPassword(), nil)
}

func (s *Service) insertAccount(ctx context.Context, a account, password string, cpfIndex []byte) (account, error) {
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return account{}, errs.Internal("identity: hash password", err)
	}
	a.PasswordHash, a.CreatedAt = hash, s.now().UTC().Truncate(time.Microsecond)
	err = pg.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if err := s.accounts.insert(ctx, tx, a, cpfIndex); err != nil {
			return err
		}
		return s.audit(ctx, tx, actRegister, a.ID, a.ID, outcomeOK)
	})
	if errs.Has(err, ReasonAccountExists) {
		return account{}, err
	}
	if err != nil {
		return account{}, errs.Internal("identity: insert account", err)
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
		return ReasonBirthDateInvalid.New("birth_date " + err.Error()).
			WithViolations(errs.Violation{Field: "birth_date", Description: err.Error()})
	}
	return nil
}

// errCPFInvalid names the cpf field and says what is wrong with it.
func errCPFInvalid(cause error) error {
	return ReasonCPFInvalid.New(cause.Error()).WithViolations(errs.Violation{Field: "cpf", Description: cause.Error()})
}

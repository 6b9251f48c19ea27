package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/br"
	"healthcore/platform/errs"
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

// Registration answers the same whatever is taken: the status and message below, and
// no account id or tokens. The e-mail then tells the truth to whoever owns the address.
const (
	statusCheckEmail = "CHECK_EMAIL"
	msgRegistered    = "Registration received: check your e-mail. A new account gets a link that confirms the address " +
		"(log in right away, booking and sharing wait for the confirmation); if the details belong to an account already, its owner is told."
)

// registration is what a registration found: the new account to create, or the owners
// of the details already taken, who are told someone tried.
type registration struct {
	fresh  account
	taken  []account // distinct owners of the taken e-mail, CPF or CRM
	cpfIdx []byte
}

// registerPatient creates a patient account with its personal fields sealed, or tells
// the owners of a taken e-mail or CPF. The answer, and the work behind it (the password
// hash and the sealing), are the same either way.
func (s *Service) registerPatient(ctx context.Context, r *identityv1.RegisterPatientRequest) error {
	if err := s.reserveRegistration(ctx); err != nil {
		return err
	}
	cpf, err := br.NormalizeCPF(r.GetCpf())
	if err != nil {
		return errCPFInvalid(err)
	}
	if err := s.checkBirthDate(r.GetBirthDate()); err != nil {
		return err
	}
	a := account{ID: uuid.Must(uuid.NewV7()).String(), Role: accessv1.Role_ROLE_PATIENT, Name: r.GetName(), Email: normalizeEmail(r.GetEmail())}
	if err := s.checkPassword(ctx, r.GetPassword(), passwordOwner{name: a.Name, email: a.Email, cpf: cpf}); err != nil {
		return err
	}
	if a.PasswordHash, err = s.hasher.hash(ctx, r.GetPassword()); err != nil {
		return errs.Internal("identity: hash password", err)
	}
	if a.PII, err = s.sealPII(ctx, a.ID, patientPII{CPF: cpf, Phone: r.GetPhone(), BirthDate: r.GetBirthDate()}); err != nil {
		return errs.Internal("identity: seal patient's personal fields", err)
	}
	reg := registration{fresh: a, cpfIdx: s.blindIndex("cpf", cpf)}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		reg.taken = nil
		byEmail, ok, err := s.accounts.findByLoginEmail(ctx, tx, a.Email) // patients and admins share addresses' namespace
		if err != nil {
			return err
		}
		if ok {
			reg.taken = append(reg.taken, byEmail)
		}
		byCPF, ok, err := s.accounts.findByCPFIndex(ctx, tx, reg.cpfIdx)
		if err != nil {
			return err
		}
		if ok && (len(reg.taken) == 0 || reg.taken[0].ID != byCPF.ID) {
			reg.taken = append(reg.taken, byCPF)
		}
		return s.settleRegistration(ctx, tx, reg)
	})
	return s.registered(err)
}

// registerDoctor creates a doctor account named by CRM and UF, pending verification,
// or tells the owners of a taken e-mail or of a CRM an operator vouched for. A CRM held
// only by unverified accounts gets one more claim: the operator's verification of one
// settles the dispute.
func (s *Service) registerDoctor(ctx context.Context, r *identityv1.RegisterDoctorRequest) error {
	if err := s.reserveRegistration(ctx); err != nil {
		return err
	}
	a := account{
		ID: uuid.Must(uuid.NewV7()).String(), Role: accessv1.Role_ROLE_DOCTOR, Name: r.GetName(), Email: normalizeEmail(r.GetEmail()),
		CRMNumber: normalizeCRM(r.GetCrm().GetNumber()), CRMUF: r.GetCrm().GetUf(),
	}
	if err := s.checkPassword(ctx, r.GetPassword(), passwordOwner{name: a.Name, email: a.Email, crm: a.CRMNumber}); err != nil {
		return err
	}
	var err error
	if a.PasswordHash, err = s.hasher.hash(ctx, r.GetPassword()); err != nil {
		return errs.Internal("identity: hash password", err)
	}
	reg := registration{fresh: a}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		reg.taken = nil
		byEmail, ok, err := s.accounts.findByRoleEmail(ctx, tx, authn.RoleName(a.Role), a.Email)
		if err != nil {
			return err
		}
		if ok {
			reg.taken = append(reg.taken, byEmail)
		}
		claimants, err := s.accounts.findDoctorsByCRM(ctx, tx, a.CRMNumber, a.CRMUF)
		if err != nil {
			return err
		}
		for _, c := range claimants {
			if (c.DoctorStatus == doctorVerified || c.DoctorStatus == doctorSuspended) && (len(reg.taken) == 0 || reg.taken[0].ID != c.ID) {
				reg.taken = append(reg.taken, c)
			}
		}
		return s.settleRegistration(ctx, tx, reg)
	})
	return s.registered(err)
}

// settleRegistration commits, in tx, what a registration found: the new account and
// the link that verifies its address, or the notices to the owners of what is taken.
// Nothing goes to the address of a registration refused for a taken CPF or CRM: that
// would tell whoever typed it that the CPF or CRM is registered.
func (s *Service) settleRegistration(ctx context.Context, tx pgx.Tx, reg registration) error {
	if len(reg.taken) > 0 {
		attempt := uuid.NewString()
		for i, owner := range reg.taken {
			if err := s.tellRegistrationAttempt(ctx, tx, owner.ID, fmt.Sprintf("%s-%d", attempt, i)); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actRegister, "", reg.taken[0].ID, outcomeDenied)
	}
	a := reg.fresh
	a.CreatedAt = s.now().UTC().Truncate(time.Microsecond)
	if err := s.accounts.insert(ctx, tx, a, reg.cpfIdx); err != nil {
		return err
	}
	if err := s.sendEmailLink(ctx, tx, a.ID, purposeVerifyEmail, a.Email); err != nil {
		return err
	}
	return s.audit(ctx, tx, actRegister, a.ID, a.ID, outcomeOK)
}

// registered maps a registration's outcome to its answer. A detail taken between the
// lookup and the insert (two registrations at once) answers as any taken detail does.
func (s *Service) registered(err error) error {
	if err != nil && !errs.Has(err, ReasonAccountExists) {
		return errs.Internal("identity: register account", err)
	}
	return nil
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

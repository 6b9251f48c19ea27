package identity

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/br"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// errBadCredentials is the one answer to every wrong login, whatever was wrong.
var errBadCredentials = errs.Unauthenticated("INVALID_CREDENTIALS", "the login or the password is incorrect")

// login checks the credentials and opens a session. An unknown account costs the
// same password hash as a known one and is throttled the same way, so neither the
// answer nor its timing tells whether the account exists.
func (s *Service) login(ctx context.Context, r *identityv1.LoginRequest) (account, tokens, error) {
	kind, name, find, err := s.loginLookup(r)
	if err != nil {
		return account{}, tokens{}, err
	}
	keys := s.throttleKeys(kind, name, server.ClientAddr(ctx))
	if err := s.checkThrottle(ctx, keys); err != nil {
		return account{}, tokens{}, err
	}

	a, err := scanAccount(find(ctx))
	found := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return account{}, tokens{}, errs.Internal("identity: login", err)
	}
	var ok, outdated bool
	if found {
		ok, outdated, err = s.hasher.verify(ctx, r.GetPassword(), a.PasswordHash)
		if err != nil {
			return account{}, tokens{}, errs.Internal("identity: login", err)
		}
	} else {
		s.hasher.burn(ctx, r.GetPassword())
	}
	if !ok {
		if err := s.recordFailure(ctx, keys); err != nil {
			return account{}, tokens{}, errs.Internal("identity: login", err)
		}
		_ = s.audit(ctx, s.db, actLogin, "", a.ID, outcomeDenied)
		return account{}, tokens{}, errBadCredentials
	}

	if err := s.clearAccount(ctx, keys); err != nil {
		return account{}, tokens{}, errs.Internal("identity: login", err)
	}
	if outdated {
		s.rehash(ctx, a.ID, r.GetPassword())
	}
	var t tokens
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var err error
		if t, err = s.openSession(ctx, tx, a); err != nil {
			return err
		}
		return s.audit(ctx, tx, actLogin, a.ID, a.ID, outcomeOK)
	})
	if err != nil {
		return account{}, tokens{}, errs.Internal("identity: login", err)
	}
	return a, t, nil
}

// loginLookup turns the request into the throttle identity of the account name and
// the query that finds the account.
func (s *Service) loginLookup(r *identityv1.LoginRequest) (kind, name string, find func(context.Context) pgx.Row, err error) {
	q := func(where string, args ...any) func(context.Context) pgx.Row {
		return func(ctx context.Context) pgx.Row {
			return s.db.QueryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE `+where, args...)
		}
	}
	switch l := r.GetLogin().(type) {
	case *identityv1.LoginRequest_Email:
		name = normalizeEmail(l.Email)
		return "email", name, q(`role IN ('patient', 'admin') AND email = $1`, name), nil
	case *identityv1.LoginRequest_Cpf:
		cpf, err := br.NormalizeCPF(l.Cpf)
		if err != nil {
			return "", "", nil, errs.InvalidArgument("CPF_INVALID", err.Error(), errs.Violation{Field: "cpf", Description: err.Error()})
		}
		return "cpf", cpf, q(`cpf_index = $1`, s.blindIndex("cpf", cpf)), nil
	case *identityv1.LoginRequest_Crm:
		num := normalizeCRM(l.Crm.GetNumber())
		return "crm", br.CRM(num, l.Crm.GetUf()), q(`role = 'doctor' AND crm_number = $1 AND crm_uf = $2`, num, l.Crm.GetUf()), nil
	}
	return "", "", nil, errs.InvalidArgument("LOGIN_REQUIRED", "give email, cpf or crm", errs.Violation{Field: "login", Description: "is required"})
}

// rehash upgrades a password hash made with older parameters; failure only means the
// upgrade waits for the next login.
func (s *Service) rehash(ctx context.Context, id, password string) {
	hash, err := s.hasher.hash(ctx, password)
	if err == nil {
		_, err = s.db.Exec(ctx, `UPDATE accounts SET password_hash = $2, updated_at = now() WHERE id = $1`, id, hash)
	}
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", "error", err.Error())
	}
}

// me returns the caller's account and, for a patient, the decrypted personal fields.
func (s *Service) me(ctx context.Context) (*identityv1.GetMeResponse, error) {
	p, _ := authn.FromContext(ctx)
	a, err := s.accountByID(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := &identityv1.GetMeResponse{Account: a.proto()}
	if a.Role == accessv1.Role_ROLE_PATIENT {
		pii, err := s.openPII(ctx, a.ID, a.PII)
		if err != nil {
			return nil, errs.Internal("identity: me", err)
		}
		out.Patient = &identityv1.PatientProfile{Cpf: br.FormatCPF(pii.CPF), Phone: pii.Phone, BirthDate: pii.BirthDate}
	}
	if err := s.audit(ctx, s.db, actRead, "", a.ID, outcomeOK); err != nil {
		return nil, errs.Internal("identity: me", err)
	}
	return out, nil
}

// payer returns what a PIX charge needs of a patient. Only other services call it (the
// access rule is internal); each read is audited with the calling service as actor.
func (s *Service) payer(ctx context.Context, id string) (*identityv1.GetPayerResponse, error) {
	a, err := s.accountByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Role != accessv1.Role_ROLE_PATIENT {
		return nil, errs.FailedPrecondition("NOT_A_PATIENT", "only a patient account pays for consultations")
	}
	pii, err := s.openPII(ctx, a.ID, a.PII)
	if err != nil {
		return nil, errs.Internal("identity: payer", err)
	}
	first, last, _ := strings.Cut(strings.TrimSpace(a.Name), " ")
	if err := s.audit(ctx, s.db, actReadPayer, "", a.ID, outcomeOK); err != nil {
		return nil, errs.Internal("identity: payer", err)
	}
	return &identityv1.GetPayerResponse{
		FirstName: first, LastName: strings.TrimSpace(last), Email: a.Email, Cpf: pii.CPF,
	}, nil
}

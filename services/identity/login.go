package identity

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/br"
	"healthcore/platform/errs"
	"healthcore/platform/server"
)

// errBadCredentials is the one answer to every wrong login, whatever was wrong.
var errBadCredentials = ReasonInvalidCredentials.New("the login or the password is incorrect")

// loginResult is a login's answer: a session's tokens, or, for an account with a
// second factor, the mfa_token that LoginMfa completes.
type loginResult struct {
	account    account
	tokens     tokens
	device     string
	mfaToken   string
	mfaExpires time.Time
}

// login checks the credentials and opens a session, or, when the account has a second
// factor, a challenge for it (the device is remembered and a new one told of, as the
// password was right). An unknown account costs the
// same password hash as a known one and is throttled the same way, so neither the
// answer nor its timing tells whether the account exists. The attempt is counted
// before the password is checked (see ThrottlePolicy).
func (s *Service) login(ctx context.Context, r *identityv1.LoginRequest) (loginResult, error) {
	kind, name, find, err := s.loginLookup(r)
	if err != nil {
		return loginResult{}, err
	}
	candidates, err := find(ctx)
	if err != nil {
		return loginResult{}, errs.Internal("identity: find login account", err)
	}
	var a account
	found := len(candidates) > 0
	if found {
		a = candidates[0]
	}
	client, err := s.loginClient(ctx, kind, name, a, found, server.ClientAddr(ctx), r.GetDeviceToken())
	if err != nil {
		return loginResult{}, err
	}
	if err := s.reserveAttempt(ctx, client.keys); err != nil {
		return loginResult{}, err
	}

	s.passwordChecks.Add(1)
	var ok, outdated bool
	if found {
		// A disputed CRM has several claimants: the password says which one logs in.
		for _, c := range candidates {
			if ok, outdated, err = s.hasher.verify(ctx, r.GetPassword(), c.PasswordHash); err != nil {
				return loginResult{}, errs.Internal("identity: verify password", err)
			}
			if ok {
				a = c
				break
			}
		}
	} else {
		s.hasher.burn(ctx, r.GetPassword())
	}
	if !ok { // the account's keys counted the attempt already
		if err := s.failed(ctx, client.keys); err != nil {
			return loginResult{}, errs.Internal("identity: record login failure", err)
		}
		_ = s.audit(ctx, s.db, actLogin, "", a.ID, outcomeDenied)
		return loginResult{}, errBadCredentials
	}
	// The attempt was charged to the first claimant's keys; the devices and addresses
	// known are the account's that logged in.
	known := client
	if a.ID != candidates[0].ID {
		if known, err = s.loginClient(ctx, kind, name, a, true, server.ClientAddr(ctx), r.GetDeviceToken()); err != nil {
			return loginResult{}, err
		}
	}

	if outdated {
		s.rehash(ctx, a.ID, r.GetPassword())
	}
	key := s.keys.current(ctx)
	var out loginResult
	loginID := uuid.NewString() // the key of this login's notice, the same if the transaction reruns
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		out = loginResult{account: a}
		var err error
		if err = s.succeeded(ctx, tx, client.keys); err != nil {
			return err
		}
		if err = s.tellNewDevice(ctx, tx, known, a.ID, loginID); err != nil {
			return err
		}
		if out.device, err = s.rememberClient(ctx, tx, known, r.GetDeviceToken()); err != nil {
			return err
		}
		st, err := s.factors.status(ctx, tx, a.ID)
		if err != nil {
			return err
		}
		if len(st.Methods) > 0 {
			if out.mfaToken, out.mfaExpires, err = s.openChallenge(ctx, tx, a.ID); err != nil {
				return err
			}
			return s.audit(ctx, tx, actLogin, a.ID, a.ID, outcomeMFARequired)
		}
		if out.tokens, err = s.openSession(ctx, tx, key, a, amrPassword); err != nil {
			return err
		}
		return s.audit(ctx, tx, actLogin, a.ID, a.ID, outcomeOK)
	})
	if err != nil {
		return loginResult{}, errs.Internal("identity: open session", err)
	}
	return out, nil
}

// loginLookup turns the request into the throttle identity of the account name and
// the lookup that finds its accounts: one, or for a disputed CRM every claimant.
func (s *Service) loginLookup(r *identityv1.LoginRequest) (kind, name string, find func(context.Context) ([]account, error), err error) {
	one := func(a account, ok bool, err error) ([]account, error) {
		if !ok || err != nil {
			return nil, err
		}
		return []account{a}, nil
	}
	switch l := r.GetLogin().(type) {
	case *identityv1.LoginRequest_Email:
		name = normalizeEmail(l.Email)
		return "email", name, func(ctx context.Context) ([]account, error) {
			return one(s.accounts.findByLoginEmail(ctx, s.db, name))
		}, nil
	case *identityv1.LoginRequest_Cpf:
		cpf, err := br.NormalizeCPF(l.Cpf)
		if err != nil {
			return "", "", nil, errCPFInvalid(err)
		}
		return "cpf", cpf, func(ctx context.Context) ([]account, error) {
			return one(s.accounts.findByCPFIndex(ctx, s.db, s.blindIndex("cpf", cpf)))
		}, nil
	case *identityv1.LoginRequest_Crm:
		num, uf := normalizeCRM(l.Crm.GetNumber()), l.Crm.GetUf()
		return "crm", br.CRM(num, uf), func(ctx context.Context) ([]account, error) {
			return s.accounts.findDoctorsByCRM(ctx, s.db, num, uf)
		}, nil
	}
	return "", "", nil, ReasonLoginRequired.New("give email, cpf or crm").
		WithViolations(errs.Violation{Field: "login", Description: "is required"})
}

// rehash upgrades a password hash made with older parameters; failure only means the
// upgrade waits for the next login.
func (s *Service) rehash(ctx context.Context, id, password string) {
	hash, err := s.hasher.hash(ctx, password)
	if err == nil {
		err = s.accounts.setPasswordHash(ctx, s.db, id, hash, s.now())
	}
	if err != nil {
		s.log.WarnContext(ctx, "password rehash failed", "error", err.Error())
	}
}

// me returns the caller's account and, for a patient, the decrypted personal fields.
func (s *Service) me(ctx context.Context) (*identityv1.GetMeResponse, error) {
	a, st, err := s.callerFactors(ctx)
	if err != nil {
		return nil, err
	}
	out := &identityv1.GetMeResponse{Account: a.proto(), Mfa: st.proto()}
	if a.Role == accessv1.Role_ROLE_PATIENT {
		pii, err := s.openPII(ctx, a.ID, a.PII)
		if err != nil {
			return nil, errs.Internal("identity: open personal fields", err)
		}
		out.Patient = &identityv1.PatientProfile{Cpf: br.FormatCPF(pii.CPF), Phone: pii.Phone, BirthDate: pii.BirthDate}
	}
	if err := s.audit(ctx, s.db, actRead, "", a.ID, outcomeOK); err != nil {
		return nil, errs.Internal("identity: audit account read", err)
	}
	return out, nil
}

// payer returns what a PIX charge needs of a patient. Only other services call it (the
// access rule is internal); each read is audited with the calling service as actor.
func (s *Service) payer(ctx context.Context, id string) (*identityv1.GetPayerResponse, error) {
	a, err := s.account(ctx, id)
	if err != nil {
		return nil, err
	}
	if a.Role != accessv1.Role_ROLE_PATIENT {
		return nil, ReasonNotAPatient.New("only a patient account pays for consultations")
	}
	pii, err := s.openPII(ctx, a.ID, a.PII)
	if err != nil {
		return nil, errs.Internal("identity: open payer's personal fields", err)
	}
	first, last, _ := strings.Cut(strings.TrimSpace(a.Name), " ")
	if err := s.audit(ctx, s.db, actReadPayer, "", a.ID, outcomeOK); err != nil {
		return nil, errs.Internal("identity: audit payer read", err)
	}
	return &identityv1.GetPayerResponse{
		FirstName: first, LastName: strings.TrimSpace(last), Email: a.Email, Cpf: pii.CPF,
	}, nil
}

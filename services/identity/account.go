package identity

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/authn"
	"healthcore/platform/br"
	"healthcore/platform/errs"
)

// account is a row of accounts.
type account struct {
	ID           string
	Role         accessv1.Role
	Name         string
	Email        string
	PasswordHash string
	CRMNumber    string
	CRMUF        string
	PII          []byte
	CreatedAt    time.Time
	// DoctorStatus is one of the doctor* constants for a doctor, "" otherwise.
	DoctorStatus string
	// DoctorStatusAt is when DoctorStatus last changed (zero for non-doctors).
	DoctorStatusAt time.Time
	// EmailVerifiedAt is when the owner confirmed the address; nil until then.
	EmailVerifiedAt *time.Time
	// ErasedAt is when the owner erased the account (LGPD art. 18, VI); nil while it
	// lives. An erased account holds nothing personal and answers as not found.
	ErasedAt *time.Time
}

// A doctor account's verification status, as stored.
const (
	doctorPending   = "pending_verification"
	doctorVerified  = "verified"
	doctorRejected  = "rejected"
	doctorSuspended = "suspended"
)

// principal is what an access token of session sid, authenticated by amr, says of a.
func (a account) principal(sessionID string, amr []string) authn.Principal {
	p := authn.Principal{
		UserID: a.ID, Role: a.Role, SessionID: sessionID,
		EmailVerified: a.EmailVerifiedAt != nil, AMR: amr,
	}
	if a.Role == accessv1.Role_ROLE_DOCTOR {
		p.CRM = br.CRM(a.CRMNumber, a.CRMUF)
		p.DoctorVerified = a.DoctorStatus == doctorVerified
	}
	return p
}

func (a account) proto() *identityv1.Account {
	out := &identityv1.Account{
		Id: a.ID, Role: a.Role, Name: a.Name, Email: a.Email, CreateTime: timestamppb.New(a.CreatedAt),
	}
	if a.Role == accessv1.Role_ROLE_DOCTOR {
		out.Crm = &identityv1.Crm{Number: a.CRMNumber, Uf: a.CRMUF}
	}
	return out
}

// account returns the account with id, or ACCOUNT_NOT_FOUND.
func (s *Service) account(ctx context.Context, id string) (account, error) {
	a, ok, err := s.accounts.get(ctx, s.db, id)
	if err != nil {
		return account{}, errs.Internal("identity: read account", err)
	}
	if !ok || a.ErasedAt != nil {
		return account{}, ReasonAccountNotFound.New("the account does not exist")
	}
	return a, nil
}

// normalizeEmail lower-cases and trims an address (the proto has checked its form).
func normalizeEmail(e string) string { return strings.ToLower(strings.TrimSpace(e)) }

// normalizeCRM drops leading zeros, so "012345" and "12345" are one registration.
func normalizeCRM(n string) string { return br.NormalizeCRMNumber(n) }

// errStatusConflict is DOCTOR_STATUS_CONFLICT with what was wrong.
func errStatusConflict(msg string) error { return ReasonDoctorStatusConflict.New(msg) }

// errAccountExists does not say which detail is taken.
var errAccountExists = ReasonAccountExists.New("an account with these details already exists: log in instead")

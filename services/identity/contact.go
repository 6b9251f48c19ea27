package identity

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/errs"
)

// contact returns how to reach an account's owner, for notifications: read at
// delivery, so a message never carries a stale name or address. Only other services
// call it (the access rule names notifications); each read is audited with the calling
// service as actor. The phone is sealed with the patient's personal fields, so it is
// opened only for patients; doctors and admins register none.
func (s *Service) contact(ctx context.Context, id string) (*identityv1.GetContactResponse, error) {
	a, err := s.account(ctx, id)
	if err != nil {
		return nil, err
	}
	full := strings.TrimSpace(a.Name)
	out := &identityv1.GetContactResponse{FirstName: firstName(full), FullName: full, Email: a.Email, Role: a.Role}
	if a.Role == accessv1.Role_ROLE_PATIENT && len(a.PII) > 0 {
		pii, err := s.openPII(ctx, a.ID, a.PII)
		if err != nil {
			return nil, errs.Internal("identity: open contact's personal fields", err)
		}
		out.Phone = pii.Phone
	}
	if err := s.audit(ctx, s.db, actReadContact, "", a.ID, outcomeOK); err != nil {
		return nil, errs.Internal("identity: audit contact read", err)
	}
	return out, nil
}

// firstNames returns the first names of the accounts among ids that exist, for a
// partner clinic's view of its doctors' appointments (scheduling calls). Each account
// named is audited as read, with the calling service as actor, in the transaction
// that reads the names.
func (s *Service) firstNames(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		names, err := s.accounts.names(ctx, tx, ids)
		if err != nil {
			return err
		}
		clear(out)
		for _, id := range ids {
			name, ok := names[id]
			if !ok {
				continue
			}
			out[id] = firstName(name)
			if err := s.audit(ctx, tx, actReadFirstName, "", id, outcomeOK); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, errs.Internal("identity: first names", err)
	}
	return out, nil
}

// firstName is the name a greeting uses: the first word of the full name, skipping a
// doctor's title ("Dr. João Pereira" → "João").
func firstName(full string) string {
	words := strings.Fields(full)
	for len(words) > 1 {
		switch strings.ToLower(strings.TrimSuffix(words[0], ".")) {
		case "dr", "dra":
			words = words[1:]
			continue
		}
		break
	}
	if len(words) == 0 {
		return ""
	}
	return words[0]
}

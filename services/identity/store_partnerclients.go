package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/platform/pg"
)

// partnerClientStore keeps partner clinics' OAuth 2.0 clients and their secrets
// (by SHA-256 hash).
type partnerClientStore struct{}

// partnerClient is a client row with its secrets, newest first.
type partnerClient struct {
	ID        string
	ClinicID  string
	Name      string
	Scopes    []string
	CreatedAt time.Time
	RevokedAt *time.Time
	Secrets   []partnerSecret
}

// partnerSecret is a secret row, without the hash.
type partnerSecret struct {
	ID        string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// activeSecrets counts the client's secrets not revoked.
func (c partnerClient) activeSecrets() int {
	n := 0
	for _, s := range c.Secrets {
		if s.RevokedAt == nil {
			n++
		}
	}
	return n
}

// insert stores a new client.
func (partnerClientStore) insert(ctx context.Context, q pg.Querier, c partnerClient, createdBy string) error {
	if _, err := q.Exec(ctx, `INSERT INTO partner_clients (id, clinic_id, name, scopes, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.ClinicID, c.Name, c.Scopes, createdBy, c.CreatedAt); err != nil {
		return fmt.Errorf("insert partner client: %w", err)
	}
	return nil
}

// insertSecret stores a secret of the client by its hash.
func (partnerClientStore) insertSecret(ctx context.Context, q pg.Querier, clientID, secretID string, hash []byte, at time.Time) error {
	if _, err := q.Exec(ctx, `INSERT INTO partner_client_secrets (id, client_id, secret_hash, created_at) VALUES ($1, $2, $3, $4)`,
		secretID, clientID, hash, at); err != nil {
		return fmt.Errorf("insert partner client secret: %w", err)
	}
	return nil
}

// get returns the client with its secrets; with forUpdate, the client row is locked
// until the transaction ends (adding and revoking secrets serialise on it).
func (s partnerClientStore) get(ctx context.Context, q pg.Querier, id string, forUpdate bool) (partnerClient, bool, error) {
	lock := ""
	if forUpdate {
		lock = " FOR UPDATE"
	}
	var c partnerClient
	err := q.QueryRow(ctx, `SELECT id::text, clinic_id::text, name, scopes, created_at, revoked_at
		FROM partner_clients WHERE id = $1`+lock, id).
		Scan(&c.ID, &c.ClinicID, &c.Name, &c.Scopes, &c.CreatedAt, &c.RevokedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return partnerClient{}, false, nil
	}
	if err != nil {
		return partnerClient{}, false, fmt.Errorf("select partner client: %w", err)
	}
	list := []partnerClient{c}
	if err := s.withSecrets(ctx, q, list); err != nil {
		return partnerClient{}, false, err
	}
	return list[0], true, nil
}

// list returns the clients, newest first, of one clinic when clinicID is not empty.
func (s partnerClientStore) list(ctx context.Context, q pg.Querier, clinicID string) ([]partnerClient, error) {
	rows, err := q.Query(ctx, `SELECT id::text, clinic_id::text, name, scopes, created_at, revoked_at
		FROM partner_clients WHERE $1 = '' OR clinic_id::text = $1 ORDER BY created_at DESC, id LIMIT 1000`, clinicID)
	if err != nil {
		return nil, fmt.Errorf("select partner clients: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (partnerClient, error) {
		var c partnerClient
		err := row.Scan(&c.ID, &c.ClinicID, &c.Name, &c.Scopes, &c.CreatedAt, &c.RevokedAt)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("select partner clients: %w", err)
	}
	return out, s.withSecrets(ctx, q, out)
}

// withSecrets fills in the clients' secrets, newest first.
func (partnerClientStore) withSecrets(ctx context.Context, q pg.Querier, clients []partnerClient) error {
	if len(clients) == 0 {
		return nil
	}
	ids := make([]string, len(clients))
	at := make(map[string]int, len(clients))
	for i, c := range clients {
		ids[i], at[c.ID] = c.ID, i
	}
	rows, err := q.Query(ctx, `SELECT client_id::text, id::text, created_at, revoked_at FROM partner_client_secrets
		WHERE client_id = ANY($1::uuid[]) ORDER BY created_at DESC, id DESC`, ids)
	if err != nil {
		return fmt.Errorf("select partner client secrets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var clientID string
		var sec partnerSecret
		if err := rows.Scan(&clientID, &sec.ID, &sec.CreatedAt, &sec.RevokedAt); err != nil {
			return fmt.Errorf("select partner client secrets: %w", err)
		}
		c := &clients[at[clientID]]
		c.Secrets = append(c.Secrets, sec)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("select partner client secrets: %w", err)
	}
	return nil
}

// revokeSecret revokes the client's secret at the given time; false when the client
// has no such secret. A secret already revoked keeps its first time.
func (partnerClientStore) revokeSecret(ctx context.Context, q pg.Querier, clientID, secretID string, at time.Time) (bool, error) {
	var found bool
	err := q.QueryRow(ctx, `WITH s AS (SELECT id FROM partner_client_secrets WHERE id = $2 AND client_id = $1),
		u AS (UPDATE partner_client_secrets SET revoked_at = $3 WHERE id IN (SELECT id FROM s) AND revoked_at IS NULL)
		SELECT EXISTS (SELECT 1 FROM s)`, clientID, secretID, at).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("revoke partner client secret: %w", err)
	}
	return found, nil
}

// revoke revokes the client and every secret of it still active at the given time.
func (partnerClientStore) revoke(ctx context.Context, q pg.Querier, clientID string, at time.Time) error {
	if _, err := q.Exec(ctx, `UPDATE partner_clients SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, clientID, at); err != nil {
		return fmt.Errorf("revoke partner client: %w", err)
	}
	if _, err := q.Exec(ctx, `UPDATE partner_client_secrets SET revoked_at = $2 WHERE client_id = $1 AND revoked_at IS NULL`, clientID, at); err != nil {
		return fmt.Errorf("revoke partner client secrets: %w", err)
	}
	return nil
}

// grant is what a token needs of an active secret and its active client.
type grant struct {
	SecretID string
	ClientID string
	ClinicID string
	Scopes   []string
}

// grantBySecret returns the active client whose active secret hashes to hash.
func (partnerClientStore) grantBySecret(ctx context.Context, q pg.Querier, hash []byte) (grant, bool, error) {
	var g grant
	err := q.QueryRow(ctx, `SELECT s.id::text, c.id::text, c.clinic_id::text, c.scopes
		FROM partner_client_secrets s JOIN partner_clients c ON c.id = s.client_id
		WHERE s.secret_hash = $1 AND s.revoked_at IS NULL AND c.revoked_at IS NULL`, hash).
		Scan(&g.SecretID, &g.ClientID, &g.ClinicID, &g.Scopes)
	if errors.Is(err, pgx.ErrNoRows) {
		return grant{}, false, nil
	}
	if err != nil {
		return grant{}, false, fmt.Errorf("select partner client by secret: %w", err)
	}
	return g, true, nil
}

// revokedSince returns the secrets revoked after since (their ids are the sid of the
// tokens they obtained), as ended sessions.
func (partnerClientStore) revokedSince(ctx context.Context, q pg.Querier, since time.Time) ([]endedSession, error) {
	rows, err := q.Query(ctx, `SELECT id::text, revoked_at FROM partner_client_secrets WHERE revoked_at > $1 ORDER BY revoked_at`, since)
	if err != nil {
		return nil, fmt.Errorf("select revoked partner secrets: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[endedSession])
	if err != nil {
		return nil, fmt.Errorf("select revoked partner secrets: %w", err)
	}
	return out, nil
}

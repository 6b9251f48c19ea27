package records

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/errs"
)

const (
	defaultDocumentPage = 20
	defaultLogPage      = 50
)

// cursor is where a page ended: the sort keys of its last row, bound to the filters it
// was made with so a token cannot be replayed on another list.
type cursor struct {
	Filter string `json:"f"`
	Micros int64  `json:"t"` // time of the last row, Unix microseconds (PostgreSQL's precision)
	ID     string `json:"i"` // its id
}

func fingerprint(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:8])
}

func (c cursor) token() string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// parseCursor reads a page token; "" is the first page (nil). validID checks the id.
func parseCursor(token, filter string, validID func(string) bool) (*cursor, error) {
	if token == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	var c cursor
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Filter != filter || !validID(c.ID) {
		return nil, errBadToken
	}
	return &c, nil
}

func isUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }

// where collects the conditions of a list query.
type where struct {
	conds []string
	args  []any
}

// add appends a condition whose %d verbs number the placeholders of vs.
func (w *where) add(cond string, vs ...any) {
	n := make([]any, len(vs))
	for i, v := range vs {
		w.args = append(w.args, v)
		n[i] = len(w.args)
	}
	w.conds = append(w.conds, fmt.Sprintf(cond, n...))
}

func (w *where) sql() string { return strings.Join(w.conds, " AND ") }

// listDocuments is ListDocuments: the caller's live documents, newest first, paged by
// (created_at, id).
func (s *Service) listDocuments(ctx context.Context, r *recordsv1.ListDocumentsRequest) (_ []*document, next string, err error) {
	e := &entry{action: actList, groupID: r.GetGroupId()}
	defer func() { err = s.audited(ctx, e, err) }()
	p, err := patient(ctx)
	if err != nil {
		return nil, "", err
	}
	kind := kindName(r.GetKind())
	filter := fingerprint(p.UserID, kind, r.GetGroupId())
	c, err := parseCursor(r.GetPageToken(), filter, isUUID)
	if err != nil {
		return nil, "", err
	}
	size := int(r.GetPageSize())
	if size == 0 {
		size = defaultDocumentPage
	}
	w := &where{conds: []string{"deleted_at IS NULL"}}
	w.add("patient_id = $%d", p.UserID)
	if kind != "" {
		w.add("kind = $%d", kind)
	}
	if r.GetGroupId() != "" {
		w.add("group_id = $%d", r.GetGroupId())
	}
	if c != nil {
		w.add("(created_at, id) < ($%d, $%d::uuid)", time.UnixMicro(c.Micros).UTC(), c.ID)
	}
	rows, err := s.db.Query(ctx, `SELECT `+documentColumns+` FROM documents WHERE `+w.sql()+
		fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT %d`, size+1), w.args...)
	if err != nil {
		return nil, "", errs.Internal(err)
	}
	docs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*document, error) { return scanDocument(row) })
	if err != nil {
		return nil, "", errs.Internal(err)
	}
	if len(docs) > size {
		docs = docs[:size]
		last := docs[size-1]
		next = cursor{Filter: filter, Micros: last.createdAt.UnixMicro(), ID: last.id.String()}.token()
	}
	return docs, next, nil
}

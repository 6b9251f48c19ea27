package identity

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"healthcore/platform/auditchain/chaintest"
)

func TestAuditStore_AppendsEntriesWithEmptyFieldsAsNull(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), auditStore{chain: chaintest.Key(t)}
	actor, subject := uuid.NewString(), uuid.NewString()
	full := auditEntry{ActorID: actor, ActorRole: "doctor", ActorCRM: "CRM/SP 123456", Action: actRead, SubjectID: subject,
		ClientAddr: "203.0.113.7", RequestID: "req-1", Outcome: outcomeOK}
	if err := st.append(ctx, db, full); err != nil {
		t.Fatal(err)
	}
	if err := st.append(ctx, db, auditEntry{Action: actLogin, Outcome: outcomeDenied}); err != nil {
		t.Fatal(err)
	}
	if err := st.append(ctx, db, auditEntry{ActorID: "not a uuid", Action: actLogin, Outcome: outcomeOK}); err == nil {
		t.Error("an entry with a malformed actor id was written")
	}

	rows, err := db.Query(ctx, `SELECT coalesce(actor_id::text, '-'), coalesce(actor_role, '-'), coalesce(actor_crm, '-'), action,
		coalesce(subject_id::text, '-'), coalesce(client_addr, '-'), coalesce(request_id, '-'), outcome FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []auditEntry
	for rows.Next() {
		var e auditEntry
		if err := rows.Scan(&e.ActorID, &e.ActorRole, &e.ActorCRM, &e.Action, &e.SubjectID, &e.ClientAddr, &e.RequestID, &e.Outcome); err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	want := []auditEntry{full, {ActorID: "-", ActorRole: "-", ActorCRM: "-", Action: actLogin, SubjectID: "-", ClientAddr: "-", RequestID: "-", Outcome: outcomeDenied}}
	if !slices.Equal(got, want) {
		t.Errorf("audit log = %+v, want %+v", got, want)
	}
}

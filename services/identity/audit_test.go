package identity

import (
	"context"
	"testing"
)

func TestAuditLog_RecordsActionsAndRefusesChanges(t *testing.T) {
	f := newFixture(t, nil)
	pair := f.patientSession()
	if _, err := f.me(pair.GetAccessToken()); err != nil {
		t.Fatal(err)
	}
	rows, err := f.db.Query(context.Background(), `SELECT action, outcome, coalesce(actor_role, ''), coalesce(client_addr, ''), coalesce(request_id, '') FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var action, outcome, role, addr, rid string
		if err := rows.Scan(&action, &outcome, &role, &addr, &rid); err != nil {
			t.Fatal(err)
		}
		if addr != "127.0.0.1" || len(rid) != 32 {
			t.Errorf("%s: client_addr=%q request_id=%q", action, addr, rid)
		}
		got = append(got, action+"/"+outcome+"/"+role)
	}
	want := []string{"account.register/ok/", "account.login/ok/", "account.read/ok/patient"}
	if len(got) != len(want) {
		t.Fatalf("audit = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("audit[%d] = %s, want %s", i, got[i], want[i])
		}
	}
	if _, err := f.db.Exec(context.Background(), `UPDATE audit_log SET outcome = 'ok'`); err == nil {
		t.Error("audit_log accepted an UPDATE")
	}
	if _, err := f.db.Exec(context.Background(), `DELETE FROM audit_log`); err == nil {
		t.Error("audit_log accepted a DELETE")
	}
}

package records

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/auditchain/chaintest"
	"healthcore/platform/pagetoken"
)

func TestAccessLogStore_AppendThenListReadsEveryFieldAndEmptyMeansNull(t *testing.T) {
	db, ctx, log := storeDB(t), context.Background(), accessLogStore{chain: chaintest.Key(t)}
	alice, doctor := uuid.NewString(), uuid.NewString()
	doc, grp, sh := uuid.NewString(), uuid.NewString(), uuid.NewString()
	full := accessRecord{
		at: storeTime, patientID: alice, actorID: doctor, actorRole: "doctor", actorCRM: "123456/SP", action: actDownload,
		documentID: doc, groupID: grp, shareID: sh, clientAddr: "203.0.113.9", requestID: "req-1",
		outcome: outcomeDenied, reason: ReasonShareRevoked.Name(),
	}
	bare := accessRecord{at: storeTime.Add(time.Second), patientID: alice, action: actGroupList, outcome: outcomeOK}
	for _, r := range []accessRecord{full, bare} {
		if err := log.append(ctx, db, r); err != nil {
			t.Fatal(err)
		}
	}
	var nulls int
	if err := db.QueryRow(ctx, `SELECT num_nulls(actor_id, actor_role, actor_crm, document_id, group_id, share_id,
		client_addr, request_id, reason) FROM access_log WHERE action = $1`, actGroupList).Scan(&nulls); err != nil {
		t.Fatal(err)
	}
	if nulls != 9 {
		t.Errorf("the bare entry stores %d NULLs, want 9", nulls)
	}

	got, err := log.list(ctx, db, accessFilter{patientID: alice, limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("listed %d entries, want 2", len(got))
	}
	same := func(e *recordsv1.AccessLogEntry, r accessRecord) bool {
		return e.GetTime().AsTime().Equal(r.at) && e.GetActorId() == r.actorID && e.GetActorRole() == r.actorRole &&
			e.GetActorCrm() == r.actorCRM && e.GetAction() == r.action && e.GetDocumentId() == r.documentID &&
			e.GetGroupId() == r.groupID && e.GetShareId() == r.shareID && e.GetClientAddress() == r.clientAddr &&
			e.GetRequestId() == r.requestID && e.GetOutcome() == r.outcome && e.GetReason() == r.reason && e.GetId() > 0
	}
	if !same(got[0], bare) || !same(got[1], full) {
		t.Errorf("listed (newest first)\n %v\n %v\nwant %+v then %+v", got[0], got[1], bare, full)
	}
}

func TestAccessLogStore_ListFiltersByPatientActorTimeAndPages(t *testing.T) {
	db, ctx, log := storeDB(t), context.Background(), accessLogStore{chain: chaintest.Key(t)}
	alice, bob, doctor := uuid.NewString(), uuid.NewString(), uuid.NewString()
	at := func(i int) time.Time { return storeTime.Add(time.Duration(i) * time.Minute) }
	for i := range 6 {
		actor := alice
		if i%2 == 1 {
			actor = doctor
		}
		if err := log.append(ctx, db, accessRecord{at: at(i), patientID: alice, actorID: actor, action: actRead + strconv.Itoa(i), outcome: outcomeOK}); err != nil {
			t.Fatal(err)
		}
	}
	// Two entries at one instant: the id orders them.
	for range 2 {
		if err := log.append(ctx, db, accessRecord{at: at(6), patientID: alice, actorID: alice, action: actList, outcome: outcomeOK}); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.append(ctx, db, accessRecord{at: at(3), patientID: bob, actorID: bob, action: actList, outcome: outcomeOK}); err != nil {
		t.Fatal(err)
	}
	actions := func(f accessFilter) []string {
		t.Helper()
		es, err := log.list(ctx, db, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range es {
			out = append(out, e.GetAction())
		}
		return out
	}
	r := func(i int) string { return actRead + strconv.Itoa(i) }
	from, until := at(2), at(5)
	for _, c := range []struct {
		name string
		f    accessFilter
		want []string
	}{
		{"patient", accessFilter{patientID: alice, limit: 100}, []string{actList, actList, r(5), r(4), r(3), r(2), r(1), r(0)}},
		{"actor", accessFilter{patientID: alice, actorID: doctor, limit: 100}, []string{r(5), r(3), r(1)}},
		{"from (inclusive) until (exclusive)", accessFilter{patientID: alice, from: &from, until: &until, limit: 100}, []string{r(4), r(3), r(2)}},
		{"limit", accessFilter{patientID: alice, limit: 3}, []string{actList, actList, r(5)}},
		{"other patient", accessFilter{patientID: bob, limit: 100}, []string{actList}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := actions(c.f)
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}

	// Paging one by one visits every entry once, the two at one instant included.
	var seen []int64
	var after *pagetoken.Cursor
	for {
		page, err := log.list(ctx, db, accessFilter{patientID: alice, after: after, limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		e := page[0]
		seen = append(seen, e.GetId())
		after = &pagetoken.Cursor{Micros: e.GetTime().AsTime().UnixMicro(), ID: strconv.FormatInt(e.GetId(), 10)}
	}
	if len(seen) != 8 || seen[0] < seen[1] {
		t.Errorf("paged ids %v: want 8, the later of the two at one instant first", seen)
	}
	for i := 1; i < len(seen); i++ {
		for j := range i {
			if seen[i] == seen[j] {
				t.Errorf("id %d listed twice", seen[i])
			}
		}
	}
}

package directory

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
)

func TestReviewStore_InsertAndRateKeepTheRatingInOneTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storeDB(t)
	var st reviewStore
	doctor := storeProfile(t, db, "123456", input("Dra. Ana Souza", saoPaulo, 30000, "cardiologia"), true)
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

	add := func(appt string, stars int32) (float64, int32, error) {
		rv := &directoryv1.Review{Id: uuid.NewString(), DoctorId: doctor, Stars: stars, Comment: "ótima consulta", CreateTime: timestamppb.New(at)}
		var avg float64
		var count int32
		err := pg.InTx(ctx, db, func(tx pgx.Tx) error {
			if err := st.insert(ctx, tx, rv, appt, uuid.NewString()); err != nil {
				return err
			}
			var err error
			avg, count, err = st.rate(ctx, tx, doctor, stars)
			return err
		})
		return avg, count, err
	}
	first := uuid.NewString()
	if avg, count, err := add(first, 5); err != nil || avg != 5 || count != 1 {
		t.Fatalf("first review: %v %d %v; want 5 1", avg, count, err)
	}
	if avg, count, err := add(uuid.NewString(), 4); err != nil || avg != 4.5 || count != 2 {
		t.Fatalf("second review: %v %d %v; want 4.5 2", avg, count, err)
	}
	_, _, err := add(first, 1)
	if !errs.Has(err, ReasonAlreadyReviewed) {
		t.Errorf("second review of an appointment: %v, want %v", err, ReasonAlreadyReviewed)
	}
	var sum, count int
	if err := db.QueryRow(ctx, `SELECT rating_sum, rating_count FROM doctors WHERE doctor_id = $1`, doctor).Scan(&sum, &count); err != nil || sum != 9 || count != 2 {
		t.Errorf("rating %d/%d (%v), want 9/2: the refused review must not count", sum, count, err)
	}
	if _, _, err := st.rate(ctx, db, uuid.NewString(), 5); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("rate an unknown doctor: %v, want pgx.ErrNoRows", err)
	}
}

func TestReviewStore_ListByDoctorIsNewestFirstByKeyset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storeDB(t)
	var st reviewStore
	doctor := storeProfile(t, db, "123456", input("Dra. Ana Souza", saoPaulo, 30000, "cardiologia"), true)
	other := storeProfile(t, db, "654321", input("Dr. Bruno Lima", saoPaulo, 30000, "cardiologia"), true)
	base := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var want []string // newest first
	for i := range 5 {
		rv := &directoryv1.Review{Id: uuid.NewString(), DoctorId: doctor, Stars: int32(i%5 + 1), Comment: "<b>nota</b>",
			CreateTime: timestamppb.New(base.Add(time.Duration(i) * time.Hour))}
		if i == 4 { // two reviews at one instant: the id breaks the tie
			rv.CreateTime = timestamppb.New(base.Add(3 * time.Hour))
		}
		if err := st.insert(ctx, db, rv, uuid.NewString(), uuid.NewString()); err != nil {
			t.Fatal(err)
		}
		want = append(want, rv.Id)
	}
	if err := st.insert(ctx, db, &directoryv1.Review{Id: uuid.NewString(), DoctorId: other, Stars: 1, CreateTime: timestamppb.New(base)},
		uuid.NewString(), uuid.NewString()); err != nil {
		t.Fatal(err)
	}
	slices.Reverse(want)
	// The two at base+3h come out by id, descending.
	if want[0] < want[1] {
		want[0], want[1] = want[1], want[0]
	}

	var got []string
	var beforeTime time.Time
	beforeID := ""
	for range 10 {
		page, err := st.listByDoctor(ctx, db, doctor, beforeTime, beforeID, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, rv := range page {
			if rv.GetDoctorId() != doctor || rv.GetComment() != "<b>nota</b>" || rv.GetCreateTime() == nil {
				t.Errorf("review %v", rv)
			}
			got = append(got, rv.GetId())
		}
		if len(page) < 2 {
			break
		}
		last := page[len(page)-1]
		beforeTime, beforeID = last.GetCreateTime().AsTime(), last.GetId()
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages gave %v, want %v", got, want)
	}
}

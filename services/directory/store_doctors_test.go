package directory

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
	"healthcore/platform/errs"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
)

// storeDB is a fresh directory database for the store tests.
func storeDB(t *testing.T) *pgxpool.Pool {
	t.Helper()
	return pgtest.Pool(t, Schema.Name, Schema)
}

// storeProfile writes a profile through the stores, as UpsertMyProfile does, and
// returns the doctor's id.
func storeProfile(t *testing.T, db pg.Querier, crm string, in *directoryv1.ProfileInput, listed bool) string {
	t.Helper()
	id := uuid.NewString()
	putProfile(t, db, id, crm, in, listed)
	return id
}

func putProfile(t *testing.T, db pg.Querier, id, crm string, in *directoryv1.ProfileInput, listed bool) {
	t.Helper()
	ctx := context.Background()
	var st doctorStore
	minutes := in.GetConsultationMinutes()
	if minutes == 0 {
		minutes = defaultMinutes
	}
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	w := profileWrite{doctorID: id, crmNumber: crm, crmUF: "SP", in: in, minutes: minutes, complete: listed, at: at}
	if err := st.upsert(ctx, db, w); err != nil {
		t.Fatalf("upsert %s: %v", in.GetDisplayName(), err)
	}
	if _, err := st.applyVerdict(ctx, db, id, true, at); err != nil {
		t.Fatalf("verify %s: %v", in.GetDisplayName(), err)
	}
	if err := st.setSpecialties(ctx, db, id, in.GetSpecialties()); err != nil {
		t.Fatalf("specialties of %s: %v", in.GetDisplayName(), err)
	}
}

func TestDoctorStore_UpsertThenGetReturnsWhatWasWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storeDB(t)
	var st doctorStore
	in := input("Dra. Ana Souza", saoPaulo, 30000, "pediatria", "cardiologia")
	in.Specialties[1].Rqe = "12345"
	in.Bio, in.PhotoUrl, in.Languages, in.ConsultationMinutes = "Cardiologista.", "https://fotos.example.com/ana.jpg", []string{"pt-BR", "en"}, 60
	id := storeProfile(t, db, "123456", in, true)

	p, err := st.get(ctx, db, id, true)
	if err != nil {
		t.Fatal(err)
	}
	loc := p.GetLocation()
	if p.GetDoctorId() != id || p.GetCrmNumber() != "123456" || p.GetCrmUf() != "SP" || p.GetDisplayName() != "Dra. Ana Souza" ||
		p.GetBio() != "Cardiologista." || p.GetPhotoUrl() != "https://fotos.example.com/ana.jpg" ||
		!slices.Equal(p.GetLanguages(), []string{"pt-BR", "en"}) || p.GetConsultationMinutes() != 60 ||
		p.GetPrice().GetAmountCents() != 30000 || p.GetPrice().GetCurrency() != "BRL" || p.GetTimeZone() != "America/Sao_Paulo" ||
		loc.GetCity() != "São Paulo" || loc.GetUf() != "SP" || loc.GetAddress() != "Av. Paulista, 1000" ||
		loc.GetPoint().GetLatitude() != saoPaulo.GetLatitude() || loc.GetPoint().GetLongitude() != saoPaulo.GetLongitude() ||
		!p.GetListed() || p.GetRatingCount() != 0 || !p.GetUpdateTime().AsTime().Equal(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("get: %v", p)
	}
	var specs []string
	for _, sp := range p.GetSpecialties() {
		specs = append(specs, sp.GetCode()+":"+sp.GetRqe()+":"+sp.GetName())
	}
	if want := []string{"pediatria::", "cardiologia:12345:"}; !slices.Equal(specs, want) {
		t.Errorf("specialties %v, want %v (the doctor's order, names left to the service)", specs, want)
	}

	// The second write replaces everything, location and languages included.
	second := input("Dra. Ana Souza Lima", rio, 35000, "geriatria")
	second.Location, second.Languages = nil, nil
	putProfile(t, db, id, "123456", second, false)
	if _, err := st.get(ctx, db, id, true); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("get listed only of an unlisted profile: %v, want pgx.ErrNoRows", err)
	}
	p, err = st.get(ctx, db, id, false)
	if err != nil {
		t.Fatal(err)
	}
	if p.GetDisplayName() != "Dra. Ana Souza Lima" || p.GetLocation() != nil || len(p.GetLanguages()) != 0 || p.GetListed() ||
		len(p.GetSpecialties()) != 1 || p.GetSpecialties()[0].GetCode() != "geriatria" || p.GetConsultationMinutes() != defaultMinutes {
		t.Errorf("get after the second write: %v", p)
	}
	if _, err := st.get(ctx, db, uuid.NewString(), false); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("get of an unknown doctor: %v, want pgx.ErrNoRows", err)
	}
}

func TestDoctorStore_AnotherDoctorsCRMIsCRMTaken(t *testing.T) {
	t.Parallel()
	db := storeDB(t)
	storeProfile(t, db, "123456", input("Dra. Ana Souza", saoPaulo, 30000, "cardiologia"), true)
	err := doctorStore{}.upsert(context.Background(), db, profileWrite{doctorID: uuid.NewString(), crmNumber: "123456", crmUF: "SP",
		in: input("Dr. Impostor", saoPaulo, 100), minutes: 50, at: time.Now()})
	if !errs.Has(err, ReasonCRMTaken) {
		t.Errorf("upsert with a held CRM: %v, want %v", err, ReasonCRMTaken)
	}
}

func TestDoctorStore_PracticeSettingsAndSpecialties(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storeDB(t)
	var st doctorStore
	in := input("Dr. Bruno Lima", saoPaulo, 25000, "cardiologia")
	in.TimeZone, in.ConsultationMinutes = "America/Manaus", 30
	id := storeProfile(t, db, "223344", in, false)
	got, err := st.practiceSettings(ctx, db, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.GetTimeZone() != "America/Manaus" || got.GetPrice().GetAmountCents() != 25000 || got.GetPrice().GetCurrency() != "BRL" ||
		got.GetConsultationMinutes() != 30 || got.GetListed() {
		t.Errorf("practice settings %v; want America/Manaus, 25000 BRL, 30 minutes, unlisted", got)
	}
	if _, err := st.practiceSettings(ctx, db, uuid.NewString()); !errors.Is(err, pgx.ErrNoRows) {
		t.Errorf("practice settings of an unknown doctor: %v, want pgx.ErrNoRows", err)
	}

	list, err := st.specialties(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]string, len(list))
	for i, sp := range list {
		codes[i] = sp.GetCode()
	}
	if len(list) != 55 || !slices.IsSorted(codes) || !slices.ContainsFunc(list, func(sp *directoryv1.Specialty) bool {
		return sp.GetCode() == "cardiologia" && sp.GetName() == "Cardiologia"
	}) {
		t.Errorf("specialties: %d, sorted %v, %v", len(list), slices.IsSorted(codes), codes)
	}
}

func TestDoctorStore_SeedingCopiesGeneratedDoctorsAfterTheLargestCRM(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storeDB(t)
	var st doctorStore
	if last, err := st.maxNumericCRM(ctx, db); err != nil || last != 0 {
		t.Fatalf("largest CRM of an empty table: %d, %v; want 0", last, err)
	}
	storeProfile(t, db, "123456", input("Dra. Ana Souza", saoPaulo, 30000, "cardiologia"), true)
	storeProfile(t, db, "123456789", input("Dr. Nove Dígitos", saoPaulo, 30000, "cardiologia"), true) // past eight digits
	storeProfile(t, db, "98765A", input("Dr. Letra", saoPaulo, 30000, "cardiologia"), true)
	last, err := st.maxNumericCRM(ctx, db)
	if err != nil || last != 123456 {
		t.Fatalf("largest CRM: %d, %v; want 123456 (the numeric one of one to eight digits)", last, err)
	}

	specs, err := loadSpecialties(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	batch := newGenerator(7, last, specs).doctors(3)
	err = pg.InTx(ctx, db, func(tx pgx.Tx) error {
		if err := st.lockSeeding(ctx, tx); err != nil {
			return err
		}
		return st.copyIn(ctx, tx, batch)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.analyze(ctx, db); err != nil {
		t.Fatal(err)
	}
	for i, d := range batch {
		p, err := st.get(ctx, db, uuid.UUID(d.id).String(), true)
		if err != nil {
			t.Fatalf("seeded doctor %d: %v", i, err)
		}
		if p.GetCrmNumber() != d.crm || p.GetCrmUf() != d.city.UF || p.GetDisplayName() != d.name || p.GetPrice().GetAmountCents() != d.price ||
			p.GetConsultationMinutes() != d.minutes || p.GetLocation().GetCity() != d.city.Name || p.GetRatingCount() != d.ratingCount ||
			len(p.GetSpecialties()) != len(d.specialties) || p.GetSpecialties()[0].GetCode() != d.specialties[0].code {
			t.Errorf("seeded doctor %d: got %v, generated %+v", i, p, d)
		}
	}
	if last, err := st.maxNumericCRM(ctx, db); err != nil || last != 123459 {
		t.Errorf("largest CRM after seeding 3: %d, %v; want 123459", last, err)
	}
}

package directory

import (
	"context"
	"math"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	directoryv1 "healthcore/gen/healthcore/directory/v1"
)

func TestSearchStore_FiltersOrdersAndPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := storeDB(t)
	var st searchStore
	at := func(name string, p *directoryv1.LatLng, price int64, codes ...string) string {
		return storeProfile(t, db, name[len(name)-6:], input(name, p, price, codes...), true)
	}
	near := at("Dra. Perto 100001", north(saoPaulo, 1), 30000, "cardiologia", "pediatria")
	mid := at("Dr. Meio_ 100002", north(saoPaulo, 10), 20000, "cardiologia")
	far := at("Dra. Longe 100003", campinas, 10000, "cardiologia")
	other := at("Dr. Outro 100004", north(saoPaulo, 2), 15000, "pediatria")
	hidden := storeProfile(t, db, "100005", input("Dr. Oculto 100005", saoPaulo, 1000, "cardiologia"), false)
	for id, r := range map[string][2]int{near: {9, 2}, mid: {5, 1}, far: {20, 5}, other: {3, 3}, hidden: {5, 1}} {
		if _, err := db.Exec(ctx, `UPDATE doctors SET rating_sum = $2, rating_count = $3 WHERE doctor_id = $1`, id, r[0], r[1]); err != nil {
			t.Fatal(err)
		}
	}
	run := func(f searchFilter, limit int, after *cursor) []found {
		t.Helper()
		q := newQuery(f)
		if after != nil {
			q.after(*after)
		}
		page, err := st.page(ctx, db, q, limit)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		return page
	}
	idsOf := func(page []found) []string {
		var out []string
		for _, f := range page {
			out = append(out, f.profile.GetDoctorId())
		}
		return out
	}
	distance := directoryv1.SortOrder_SORT_ORDER_DISTANCE
	tests := []struct {
		name string
		f    searchFilter
		want []string
	}{
		{"rating order, listed only", searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_RATING}, []string{mid, near, far, other}},
		{"price order", searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_PRICE}, []string{far, other, mid, near}},
		{"distance order", searchFilter{sort: distance, point: saoPaulo}, []string{near, other, mid, far}},
		{"radius", searchFilter{sort: distance, point: saoPaulo, maxDistanceKm: proto.Float64(5)}, []string{near, other}},
		{"radius in rating order", searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_RATING, point: saoPaulo, maxDistanceKm: proto.Float64(15)},
			[]string{mid, near, other}},
		{"specialty", searchFilter{sort: distance, point: saoPaulo, specialty: "pediatria"}, []string{near, other}},
		{"minimum rating", searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_PRICE, minRating: 4.5}, []string{mid, near}},
		{"maximum price", searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_PRICE, maxPriceCents: 15000}, []string{far, other}},
		{"name, case-insensitive", searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_PRICE, name: "dra."}, []string{far, near}},
		{"name with LIKE characters taken literally", searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_PRICE, name: "Meio_"}, []string{mid}},
		{"underscore matches no other character", searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_PRICE, name: "Dr_"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := idsOf(run(tt.f, 10, nil)); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}

	// Distances come back in metres, and the profile with its specialties.
	page := run(searchFilter{sort: distance, point: saoPaulo}, 1, nil)
	if len(page) != 1 || math.Abs(page[0].dist-1000) > 1 || page[0].chord <= 0 || page[0].chord > page[0].dist ||
		len(page[0].profile.GetSpecialties()) != 2 || page[0].profile.GetSpecialties()[1].GetCode() != "pediatria" {
		t.Fatalf("nearest: %+v", page)
	}
	if p := run(searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_RATING}, 10, nil); p[0].dist != 0 || p[0].chord != 0 {
		t.Errorf("without a point, distances are 0: %+v", p[0])
	}

	// A cursor continues after its row in each order.
	for _, tt := range []struct {
		f     searchFilter
		after cursor
		want  []string
	}{
		{searchFilter{sort: distance, point: saoPaulo}, cursor{Chord: page[0].chord, ID: near}, []string{other, mid, far}},
		{searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_PRICE}, cursor{Price: 15000, ID: other}, []string{mid, near}},
		{searchFilter{sort: directoryv1.SortOrder_SORT_ORDER_RATING}, cursor{Rating: 4.5, Count: 2, ID: near}, []string{far, other}},
	} {
		if got := idsOf(run(tt.f, 10, &tt.after)); !slices.Equal(got, tt.want) {
			t.Errorf("%v after %+v: %v, want %v", tt.f.sort, tt.after, got, tt.want)
		}
	}
}

package auditchain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// testKey is a key from secret material made of seed, for a log whose chain began after
// row 3.
func testKey(t *testing.T, seed string) *Key {
	t.Helper()
	secret := binary.BigEndian.AppendUint64([]byte(strings.Repeat(seed, 32)[:32]), 3)
	k, err := NewKey(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// genesis is the prev_hash of a log's first chained row.
var genesis = Head{}.Prev()

func TestNewKey_IsDerivedFromTheSecretAndRefusesOtherSizes(t *testing.T) {
	a, b, a2 := testKey(t, "a"), testKey(t, "b"), testKey(t, "a")
	fields := []pgtype.Text{Str("x")}
	if !bytes.Equal(a.Sum("log", genesis, fields), a2.Sum("log", genesis, fields)) {
		t.Error("one secret gave two keys")
	}
	if bytes.Equal(a.Sum("log", genesis, fields), b.Sum("log", genesis, fields)) {
		t.Error("two secrets gave one key")
	}
	// The key is derived, not the secret itself.
	if bytes.Equal(a.k, []byte(strings.Repeat("a", 32))) {
		t.Error("the key is the secret")
	}
	for _, n := range []int{32, 39, 41} {
		if _, err := NewKey(make([]byte, n)); err == nil {
			t.Errorf("a %d-byte secret was accepted", n)
		}
	}
}

func TestNewSecret_IsFreshAndKeepsWhereTheChainBegan(t *testing.T) {
	s1, err := NewSecret(1234)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := NewSecret(1234)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(s1[:32], s2[:32]) {
		t.Error("two secrets share their key material")
	}
	k, err := NewKey(s1)
	if err != nil {
		t.Fatal(err)
	}
	if k.after != 1234 {
		t.Errorf("the chain began after row %d, want 1234", k.after)
	}
}

func TestSum_NoTwoRowsEncodeAlike(t *testing.T) {
	k := testKey(t, "k")
	other := bytes.Repeat([]byte{1}, HashSize)
	cases := []struct {
		log    string
		prev   []byte
		fields []pgtype.Text
	}{
		{"log", genesis, []pgtype.Text{Str("ab"), Str("c")}},
		{"log", genesis, []pgtype.Text{Str("a"), Str("bc")}},     // a boundary moved
		{"log", genesis, []pgtype.Text{Str("abc")}},              // fields merged
		{"log", genesis, []pgtype.Text{Str("ab"), Str("c"), {}}}, // a NULL more
		{"log", genesis, []pgtype.Text{Str("ab"), Str("")}},      // empty
		{"log", genesis, []pgtype.Text{Str("ab"), {}}},           // NULL, not empty
		{"log", other, []pgtype.Text{Str("ab"), Str("c")}},       // another predecessor
		{"log2", genesis, []pgtype.Text{Str("ab"), Str("c")}},    // another log
		{"lo", genesis, []pgtype.Text{Str("gab"), Str("c")}},
	}
	seen := map[string]int{}
	for i, c := range cases {
		h := string(k.Sum(c.log, c.prev, c.fields))
		if j, dup := seen[h]; dup {
			t.Errorf("cases %d and %d hash alike", j, i)
		}
		seen[h] = i
	}
}

func TestFieldHelpers(t *testing.T) {
	at := time.Date(2026, 5, 4, 3, 2, 1, 123456789, time.FixedZone("BRT", -3*3600))
	if got := Time(at); got != Str("1777874521123456") {
		t.Errorf("Time = %+v", got)
	}
	if Time(at) != Time(at.UTC().Truncate(time.Microsecond)) {
		t.Error("Time depends on the zone or on nanoseconds")
	}
	if got := Int(-7); got != Str("-7") {
		t.Errorf("Int = %+v", got)
	}
	if NullIfEmpty("").Valid || !NullIfEmpty("x").Valid || !Str("").Valid {
		t.Error("NullIfEmpty or Str")
	}
	u, err := UUID("{0190F3A2-0000-7000-8000-00000000000A}")
	if err != nil || u != Str("0190f3a2-0000-7000-8000-00000000000a") {
		t.Errorf("UUID = %+v, %v", u, err)
	}
	if u, err := UUID(""); err != nil || u.Valid {
		t.Errorf("UUID(\"\") = %+v, %v", u, err)
	}
	if _, err := UUID("not a uuid"); err == nil {
		t.Error("UUID accepted garbage")
	}
}

// chain builds n chained rows (ids from first, step 2) after unchained pre-chain rows.
func chain(k *Key, pre, n int) ([]Row, Head) {
	var rows []Row
	id := int64(1)
	for range pre {
		rows = append(rows, Row{ID: id, Fields: []pgtype.Text{Int(id), Str("old")}})
		id++
	}
	var h Head
	for range n {
		f := []pgtype.Text{Int(id), Str("entry"), {}}
		prev := h.Prev()
		hash := k.Sum("log", prev, f)
		rows = append(rows, Row{ID: id, Prev: prev, Hash: hash, Fields: f})
		h = h.Next(id, hash)
		id += 2
	}
	return rows, h
}

func seq(rows []Row) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

func TestVerify(t *testing.T) {
	k := testKey(t, "k")
	without := func(rows []Row, i int) []Row { return append(rows[:i:i], rows[i+1:]...) }
	for _, c := range []struct {
		name    string
		tamper  func([]Row, Head) ([]Row, Head)
		key     *Key
		wantAt  int // index into the untampered rows of the break's row, -1 for none
		problem Problem
		checked int64
	}{
		{"intact", func(r []Row, h Head) ([]Row, Head) { return r, h }, k, -1, 0, 5},
		{"field changed", func(r []Row, h Head) ([]Row, Head) {
			r[4].Fields = []pgtype.Text{r[4].Fields[0], Str("other"), {}}
			return r, h
		}, k, 4, RowChanged, 1},
		{"NULL became empty", func(r []Row, h Head) ([]Row, Head) {
			r[4].Fields = []pgtype.Text{r[4].Fields[0], r[4].Fields[1], Str("")}
			return r, h
		}, k, 4, RowChanged, 1},
		{"hash removed after the chain began", func(r []Row, h Head) ([]Row, Head) {
			r[4].Prev, r[4].Hash = nil, nil
			return r, h
		}, k, 4, RowChanged, 1},
		{"row deleted", func(r []Row, h Head) ([]Row, Head) { return without(r, 5), h }, k, 6, RowMissing, 2},
		{"first chained row deleted", func(r []Row, h Head) ([]Row, Head) { return without(r, 3), h }, k, 4, RowMissing, 0},
		{"last row deleted", func(r []Row, h Head) ([]Row, Head) { return r[:len(r)-1], h }, k, 7, HeadMismatch, 4},
		{"every chained row deleted", func(r []Row, h Head) ([]Row, Head) { return r[:3], h }, k, 7, HeadMismatch, 0},
		{"rows swapped", func(r []Row, h Head) ([]Row, Head) {
			// The superuser renumbers two rows to exchange their places; a row's id is
			// one of its fields.
			r[4].ID, r[5].ID = r[5].ID, r[4].ID
			r[4].Fields[0], r[5].Fields[0] = Int(r[4].ID), Int(r[5].ID)
			r[4], r[5] = r[5], r[4]
			return r, h
		}, k, 4, RowChanged, 1},
		{"row past the head", func(r []Row, h Head) ([]Row, Head) {
			h.LastID, h.Hash = r[6].ID, r[6].Hash
			return r, h
		}, k, 7, HeadMismatch, 4},
		{"head hash changed", func(r []Row, h Head) ([]Row, Head) {
			h.Hash = r[6].Hash
			return r, h
		}, k, 7, HeadMismatch, 5},
		{"every hash cleared and the head reset", func(r []Row, h Head) ([]Row, Head) {
			for i := 3; i < len(r); i++ {
				r[i].Prev, r[i].Hash = nil, nil
			}
			return r, Head{}
		}, k, 3, RowChanged, 0},
		{"another key", func(r []Row, h Head) ([]Row, Head) { return r, h }, testKey(t, "x"), 3, RowChanged, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, head := chain(k, 3, 5)
			ids := make([]int64, len(rows))
			for i, r := range rows {
				ids[i] = r.ID
			}
			rows, head = c.tamper(rows, head)
			rep, err := Verify(c.key, "log", head, seq(rows))
			if err != nil {
				t.Fatal(err)
			}
			if c.wantAt < 0 {
				if !rep.OK() || rep.Checked != c.checked || rep.Unchained != 3 {
					t.Errorf("report = %s; want intact, %d checked, 3 unchained", rep, c.checked)
				}
				return
			}
			if rep.Break == nil || rep.Break.RowID != ids[c.wantAt] || rep.Break.Problem != c.problem || rep.Checked != c.checked {
				t.Errorf("report = %s; want a break at row %d: %s, after %d rows", rep, ids[c.wantAt], c.problem, c.checked)
			}
		})
	}
}

func TestVerify_EmptyAndUnstartedLogs(t *testing.T) {
	rows, _ := chain(testKey(t, "k"), 2, 0)
	rep, err := Verify(nil, "log", Head{}, seq(rows))
	if err != nil || !rep.OK() || rep.Unchained != 2 || rep.Checked != 0 {
		t.Errorf("unstarted log: %s, %v", rep, err)
	}
	chained, head := chain(testKey(t, "k"), 0, 1)
	if _, err := Verify(nil, "log", head, seq(chained)); err == nil {
		t.Error("chained rows verified without a key")
	}
	failing := func(yield func(Row, error) bool) { yield(Row{}, errors.New("connection lost")) }
	if _, err := Verify(testKey(t, "k"), "log", head, failing); err == nil {
		t.Error("a read error was not returned")
	}
}

func TestReport_String(t *testing.T) {
	r := Report{Log: "identity.audit_log", Checked: 4, Unchained: 2, Head: Head{FirstID: 3, LastID: 6, Hash: []byte{0xab, 0xcd}}}
	if got, want := r.String(), "identity.audit_log: 4 rows checked, 2 unchained (before the chain began); head row 6, hash abcd: intact"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	r.Break = &Break{RowID: 5, Problem: RowMissing, Detail: "it does not follow row 3"}
	if got := r.String(); !strings.HasSuffix(got, "BROKEN at row 5: row missing before it (it does not follow row 3)") {
		t.Errorf("String = %q", got)
	}
}

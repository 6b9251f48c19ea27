package records

import (
	"context"
	"testing"
)

func TestSecretStore_FirstValueWins(t *testing.T) {
	db, ctx, st := storeDB(t), context.Background(), secretStore{}
	if _, ok, err := st.get(ctx, db, accessChainSecret); err != nil || ok {
		t.Fatalf("before insert: ok=%v err=%v", ok, err)
	}
	for _, v := range []string{"first", "second"} {
		if err := st.insertIfMissing(ctx, db, accessChainSecret, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.insertIfMissing(ctx, db, "other", []byte("other value")); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{accessChainSecret: "first", "other": "other value"} {
		got, ok, err := st.get(ctx, db, name)
		if err != nil || !ok || string(got) != want {
			t.Errorf("%s = %q (ok=%v, err=%v), want %q", name, got, ok, err, want)
		}
	}
}

package crmregistry

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestDemo_FindsTheWalkThroughDoctorAndNotAnUnknownCRM(t *testing.T) {
	r := Demo()
	got, ok, err := r.Lookup(context.Background(), "0123456", "SP")
	if err != nil || !ok {
		t.Fatalf("Lookup(0123456/SP) = %v, %v; want found", ok, err)
	}
	if got.Name != "João Pereira" || got.Situation != "ativo" || len(got.Specialties) != 1 ||
		got.Specialties[0] != (Specialty{Code: "cardiologia", RQE: "45678"}) {
		t.Errorf("Lookup(123456/SP) = %+v", got)
	}
	if _, ok, _ := r.Lookup(context.Background(), "123456", "RJ"); ok {
		t.Error("123456/RJ found: the UF is part of the registration")
	}
	if r.Source() != "local:demo" {
		t.Errorf("Source() = %q", r.Source())
	}
}

func TestOpen_ReadsAnOperatorFileAndRefusesABadEntry(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "crm.json")
	if err := os.WriteFile(good, []byte(`[{"number": "777", "uf": "BA", "name": "X Y", "situation": "cancelado"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := Open(good)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := r.Lookup(context.Background(), "777", "BA"); !ok || got.Situation != "cancelado" {
		t.Errorf("Lookup(777/BA) = %+v, %v", got, ok)
	}
	if _, ok, _ := r.Lookup(context.Background(), "123456", "SP"); ok {
		t.Error("an operator file answers only for its own entries")
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`[{"number": "12a", "uf": "SP"}]`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad); err == nil {
		t.Error("Open accepted a CRM number with a letter")
	}
	if _, err := Open(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("Open accepted a missing file")
	}
}

package crmregistry

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"

	"healthcore/platform/br"
)

// Specialty is one specialty the registry lists for a physician.
type Specialty struct {
	Code string `json:"code"` // the directory's specialty code, e.g. "cardiologia"
	RQE  string `json:"rqe"`  // Registro de Qualificação de Especialista, digits
}

// Record is what the registry says of one CRM registration.
type Record struct {
	Name        string      `json:"name"`
	Situation   string      `json:"situation"` // as the registry writes it: "ativo", "inativo", "cancelado"…
	Specialties []Specialty `json:"specialties"`
}

// Registry looks CRM registrations up.
type Registry interface {
	// Lookup returns the registration of CRM number (digits, leading zeros ignored)
	// in uf; ok is false when the registry has none.
	Lookup(ctx context.Context, number, uf string) (r Record, ok bool, err error)
	// Source names the registry for the operator, e.g. "local:demo".
	Source() string
}

// Local is a registry read from a fixture file: a JSON array of objects with
// "number", "uf", "name", "situation" and "specialties" ([{"code", "rqe"}]).
type Local struct {
	source  string
	records map[string]Record
}

//go:embed demo.json
var demo []byte

// Demo is the embedded demo fixture: the CRMs of the README's walk-through and the
// tests, some active, one inactive.
func Demo() *Local {
	l, err := parse("local:demo", demo)
	if err != nil {
		panic(err) // the embedded file is checked by the package's tests
	}
	return l
}

// Open reads a fixture file (an operator-provided export of the registry).
func Open(path string) (*Local, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crmregistry: %w", err)
	}
	return parse("local:"+path, b)
}

func parse(source string, b []byte) (*Local, error) {
	var rows []struct {
		Number string `json:"number"`
		UF     string `json:"uf"`
		Record
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, fmt.Errorf("crmregistry: %s: %w", source, err)
	}
	l := &Local{source: source, records: make(map[string]Record, len(rows))}
	for i, r := range rows {
		number, uf, err := br.ParseCRM(r.Number + "/" + r.UF)
		if err != nil {
			return nil, fmt.Errorf("crmregistry: %s: entry %d: %w", source, i, err)
		}
		l.records[key(number, uf)] = r.Record
	}
	return l, nil
}

func key(number, uf string) string { return br.CRM(br.NormalizeCRMNumber(number), uf) }

// Lookup implements Registry.
func (l *Local) Lookup(_ context.Context, number, uf string) (Record, bool, error) {
	r, ok := l.records[key(number, uf)]
	return r, ok, nil
}

// Source implements Registry.
func (l *Local) Source() string { return l.source }

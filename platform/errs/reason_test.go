package errs

import (
	"strings"
	"testing"

	"connectrpc.com/connect"
)

func TestDeclare_SameNameSameCodeIsOneReason(t *testing.T) {
	a := Declare(connect.CodeNotFound, "TEST_SHARED_NOT_FOUND")
	b := Declare(connect.CodeNotFound, "TEST_SHARED_NOT_FOUND")
	if a != b {
		t.Fatalf("%v != %v: two declarations of one name and code must be equal", a, b)
	}
	found := false
	for _, r := range Declared() {
		if r == a {
			found = true
		}
	}
	if !found {
		t.Fatalf("Declared() lacks %v", a)
	}
}

func TestDeclare_SameNameOtherCodePanics(t *testing.T) {
	Declare(connect.CodeNotFound, "TEST_DOCTOR_GONE")
	defer func() {
		v := recover()
		msg, _ := v.(error)
		if msg == nil || !strings.Contains(msg.Error(), "TEST_DOCTOR_GONE declared as not_found and again as invalid_argument") {
			t.Fatalf("recovered %v, want a panic naming the reason and both codes", v)
		}
	}()
	Declare(connect.CodeInvalidArgument, "TEST_DOCTOR_GONE")
	t.Fatal("a second declaration with another code must panic")
}

func TestDeclare_RefusesEmptyNameOrCode(t *testing.T) {
	if declare(connect.CodeNotFound, "") == nil || declare(0, "X_TEST") == nil {
		t.Fatal("an empty name or code must be refused")
	}
}

func TestReasonNew_SendsItsCodeAndName(t *testing.T) {
	r := Declare(connect.CodeFailedPrecondition, "TEST_SLOT_TAKEN")
	err := r.New("another patient booked this slot first").WithViolations(Violation{Field: "slot_id", Description: "taken"})
	ce, logged := ToConnect(err)
	if ce.Code() != connect.CodeFailedPrecondition || logged != nil {
		t.Fatalf("code %v logged %v, want failed_precondition and nothing logged", ce.Code(), logged)
	}
	if got := ReasonOf(ce); got != "TEST_SLOT_TAKEN" {
		t.Fatalf("wire reason %q, want TEST_SLOT_TAKEN", got)
	}
	if !Has(ce, r) || !Has(err, r) {
		t.Fatal("Has must find the reason on the local error and on the wire error")
	}
	other := Declare(connect.CodeNotFound, "TEST_OTHER")
	if Has(ce, other) {
		t.Fatal("Has matched another reason")
	}
	if len(err.Violations) != 1 || err.Violations[0].Field != "slot_id" {
		t.Fatalf("violations %v", err.Violations)
	}
}

func TestInternal_NamesTheOperationInTheLoggedCause(t *testing.T) {
	_, logged := ToConnect(Internal("scheduling: insert appointment", errString("connection reset")))
	if logged == nil || logged.Error() != "INTERNAL: internal error: scheduling: insert appointment: connection reset" {
		t.Fatalf("logged %v, want the operation before the cause", logged)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestHas_KeepsTheCodeAWireErrorCarries(t *testing.T) {
	corrupt := Declare(connect.CodeDataLoss, "TEST_DOCUMENT_CORRUPT")
	wire, _ := ToConnect(corrupt.New("the stored document failed its integrity check"))
	if wire.Code() != connect.CodeDataLoss {
		t.Fatalf("sent as %v", wire.Code())
	}
	if !Has(wire, corrupt) {
		t.Fatal("Has must match a DATA_LOSS reason received from another service")
	}
	if Has(wire, Declare(connect.CodeInternal, "TEST_DOCUMENT_CORRUPT_INTERNAL")) {
		t.Fatal("Has matched another reason")
	}
}

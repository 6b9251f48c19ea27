package identity

import (
	"context"
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect"

	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/errs"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// weakPasswords are refused for a patient named Maria da Silva (maria.silva@example.com,
// CPF 529.982.247-25), each with the part of the hint that says why.
var weakPasswords = []struct{ name, password, why string }{
	{"digits in order", "123456789012", "common passwords"},
	{"one letter repeated", "aaaaaaaaaaaa", "repeats"},
	{"spaces only", "            ", "only spaces"},
	{"no-break and em spaces", " \u00a0 \u2003 \u00a0 \u2003 \u00a0 \u2003", "only spaces"},
	{"a pattern repeated", "abcabcabcabc", "repeats"},
	{"the alphabet", "abcdefghijklmnop", "sequence"},
	{"a keyboard row", "qwertyuiop[]", "keyboard"},
	{"a keyboard walk", "zxcvbnm,./as", "keyboard"},
	{"a leaked password", "password1234", "common passwords"},
	{"a leaked password in l33t", "P@ssw0rd12345", "common passwords"},
	{"a leaked password backwards", "4321drowssap", "common passwords"},
	{"the e-mail", "maria.silva@example.com", "e-mail address"},
	{"the e-mail's name", "Maria.Silva2024!", "e-mail address"},
	{"the CPF", "cpf 529.982.247-25", "CPF"},
	{"the CPF's digits", "x52998224725x", "CPF"},
	{"the name", "mariadasilva", "names"},
	{"a date", "01/01/1990abc", "date"},
	{"a year repeated", "199019901990", "repeats"},
	{"a long run of one letter", strings.Repeat("a", 100), "repeats"},
	{"a Greek letter repeated", strings.Repeat("α", 12), "repeats"},
	{"the Greek alphabet", "αβγδεζηθικλμ", "sequence"},
	{"a leaked password with accents", "pässwörd1234", "common passwords"},
}

var maria = passwordOwner{name: "Maria da Silva", email: "maria.silva@example.com", cpf: "52998224725"}

func TestCheckPassword_RefusesTheGuessableSayingWhy(t *testing.T) {
	for _, c := range weakPasswords {
		t.Run(c.name, func(t *testing.T) {
			err := checkPassword(c.password, maria)
			if !errs.Has(err, ReasonPasswordTooWeak) {
				t.Fatalf("got %v, want PASSWORD_TOO_WEAK", err)
			}
			var e *errs.Error
			if !errors.As(err, &e) || len(e.Violations) != 1 || e.Violations[0].Field != "password" {
				t.Fatalf("violations = %+v, want one on password", e)
			}
			if d := e.Violations[0].Description; !strings.Contains(d, c.why) || !strings.Contains(d, passwordAdvice) {
				t.Errorf("hint %q does not say %q and what to do", d, c.why)
			}
		})
	}
}

func TestCheckPassword_LengthIsCountedInCharacters(t *testing.T) {
	for _, short := range []string{
		"çãõéíáúâêôà",                      // 11 characters in 22 bytes: too short, however random
		"k7#Qx!v2Lp9",                      // 11
		strings.Repeat("k7#Qx!v2Lp9;", 11), // 132: too long
	} {
		if err := checkPassword(short, maria); !errs.Has(err, ReasonPasswordTooWeak) {
			t.Errorf("%q: got %v, want PASSWORD_TOO_WEAK", short, err)
		}
	}
	for _, ok := range []string{
		"k7#Qx!v2Lp9;",                       // 12 random characters
		"correct horse battery",              // a passphrase
		"pão de queijo com café às três",     // accents and spaces
		"saudade jabuticaba 7 ipê amarelo",   // Portuguese words
		strings.Repeat("k7#Qx!v2Lp9;", 10),   // 120
		"ελληνικά γράμματα είναι εντάξει 42", // any script
		"пароль очень длинный и сложный",
		"日本語のパスワードはとても長い",
	} {
		if err := checkPassword(ok, maria); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

func TestRegister_WeakPasswordsRefusedWithTheReasonAndNothingStored(t *testing.T) {
	f := newFixture(t, nil)
	for _, c := range weakPasswords {
		t.Run(c.name, func(t *testing.T) {
			req := patientReq("maria.silva@example.com", "529.982.247-25")
			req.Password = c.password
			_, err := f.client.RegisterPatient(context.Background(), connect.NewRequest(req))
			testkit.WantReason(t, err, ReasonPasswordTooWeak)
			if got := violatedFields(t, err); len(got) != 1 || got[0] != "password" {
				t.Errorf("violations on %v, want [password]", got)
			}
		})
	}
	doctor := doctorReq("1234567", "SP", "joao@clinica.com.br")
	for _, pw := range []string{"1234567890ab", "crm 1234567 sp", "joao@clinica.com.br!"} {
		doctor.Password = pw
		_, err := f.client.RegisterDoctor(context.Background(), connect.NewRequest(doctor))
		testkit.WantReason(t, err, ReasonPasswordTooWeak)
	}
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d accounts stored, want none", n)
	}
}

func TestRegister_PasswordUnderTwelveCharactersFailsValidation(t *testing.T) {
	f := newFixture(t, nil)
	req := patientReq("a@b.com", "529.982.247-25")
	req.Password = "k7#Qx!v2Lp9" // 11
	_, err := f.client.RegisterPatient(context.Background(), connect.NewRequest(req))
	testkit.WantReason(t, err, server.ReasonValidationFailed)
	d := doctorReq("123456", "SP", "d@b.com")
	d.Password = "k7#Qx!v2Lp9"
	_, err = f.client.RegisterDoctor(context.Background(), connect.NewRequest(d))
	testkit.WantReason(t, err, server.ReasonValidationFailed)
	req.Password = "k7#Qx!v2Lp9;" // 12
	if _, err := f.client.RegisterPatient(context.Background(), connect.NewRequest(req)); err != nil {
		t.Fatal(err)
	}
	// Login takes any password an account may have had, so older accounts still log in.
	if _, err := f.login(&identityv1.LoginRequest{Login: &identityv1.LoginRequest_Email{Email: "a@b.com"}, Password: "short"}); !errs.Has(err, ReasonInvalidCredentials) {
		t.Errorf("login with a short password: %v, want INVALID_CREDENTIALS", err)
	}
}

func TestCreateAdmin_WeakPasswordRefused(t *testing.T) {
	f := newFixture(t, nil)
	for _, pw := range []string{"password1234", "ops@healthcore.example", "            "} {
		if _, err := CreateAdmin(context.Background(), f.db, f.svc.cfg, "Ops", "ops@healthcore.example", pw, f.svc.env); !errs.Has(err, ReasonPasswordTooWeak) {
			t.Errorf("%q: got %v, want PASSWORD_TOO_WEAK", pw, err)
		}
	}
}

// FuzzCheckPassword: any text gets an answer, nil or PASSWORD_TOO_WEAK, never a panic
// (zxcvbn's matchers index bytes; forScoring hands them ASCII only).
func FuzzCheckPassword(f *testing.F) {
	for _, c := range weakPasswords {
		f.Add(c.password)
	}
	f.Add("correct horse battery")
	f.Add("ελληνικά γράμματα είναι εντάξει 42")
	f.Add("\xff\xfe invalid utf-8 \xc3")
	f.Fuzz(func(t *testing.T, password string) {
		if err := checkPassword(password, maria); err != nil && !errs.Has(err, ReasonPasswordTooWeak) {
			t.Fatalf("%q: %v", password, err)
		}
	})
}

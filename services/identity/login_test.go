package identity

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/testkit"
)

func TestLogin_EachPathNamesTheRightAccount(t *testing.T) {
	f := newFixture(t, nil)
	patient := f.registerPatient("maria@example.com", "529.982.247-25")
	doctor := f.registerDoctor("123456", "SP")

	tests := []struct {
		name string
		req  *identityv1.LoginRequest
		want *identityv1.Account
	}{
		{"patient by e-mail, any case", emailLogin("Maria@Example.com", "correct horse battery"), patient},
		{"patient by CPF with punctuation", &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Cpf{Cpf: "529.982.247-25"}, Password: "correct horse battery"}, patient},
		{"patient by CPF digits", &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Cpf{Cpf: "52998224725"}, Password: "correct horse battery"}, patient},
		{"doctor by CRM and UF", &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: "123456", Uf: "SP"}}, Password: "doctor password 1"}, doctor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := f.login(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.GetAccount().GetId() != tt.want.GetId() || resp.GetTokens().GetTokenType() != "Bearer" {
				t.Fatalf("logged in as %v", resp.GetAccount())
			}
			me, err := f.me(resp.GetTokens().GetAccessToken())
			if err != nil {
				t.Fatal(err)
			}
			if me.GetAccount().GetId() != tt.want.GetId() || me.GetAccount().GetRole() != tt.want.GetRole() {
				t.Errorf("token names %v, want %v", me.GetAccount(), tt.want)
			}
			if tt.want.GetRole() == accessv1.Role_ROLE_DOCTOR && (me.GetPatient() != nil || me.GetAccount().GetCrm().GetUf() != "SP") {
				t.Errorf("doctor's GetMe = %v", me)
			}
		})
	}
}

func TestLogin_EveryWrongCredentialGetsTheSameAnswer(t *testing.T) {
	f := newFixture(t, nil)
	f.registerPatient("maria@example.com", "529.982.247-25")
	f.registerDoctor("123456", "SP")

	wrong := map[string]*identityv1.LoginRequest{
		"wrong password":        emailLogin("maria@example.com", "wrong password"),
		"unknown e-mail":        emailLogin("nobody@example.com", "correct horse battery"),
		"unknown CPF":           {Login: &identityv1.LoginRequest_Cpf{Cpf: "123.456.789-09"}, Password: "correct horse battery"},
		"CRM in another UF":     {Login: &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: "123456", Uf: "RJ"}}, Password: "doctor password 1"},
		"doctor's e-mail login": emailLogin("doc123456@clinica.com.br", "doctor password 1"),
	}
	var first string
	for name, req := range wrong {
		t.Run(name, func(t *testing.T) {
			_, err := f.login(req)
			testkit.WantReason(t, err, ReasonInvalidCredentials)
			var ce *connect.Error
			errors.As(err, &ce)
			if first == "" {
				first = ce.Message()
			} else if ce.Message() != first {
				t.Errorf("message %q differs from %q", ce.Message(), first)
			}
		})
	}
	var denied int
	_ = f.db.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'account.login' AND outcome = 'denied'`).Scan(&denied)
	if denied != len(wrong) {
		t.Errorf("%d denied logins audited, want %d", denied, len(wrong))
	}
}

func TestLogin_ThrottlesAnAccountWithGrowingWaitsThenLocksIt(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Throttle = ThrottlePolicy{AccountFree: 2, AccountLockoutAfter: 5, AddressFree: 100, AddressLockoutAfter: 1000,
			BaseDelay: time.Second, Lockout: 10 * time.Minute, Window: 15 * time.Minute}
	})
	f.registerPatient("maria@example.com", "529.982.247-25")
	bad := emailLogin("maria@example.com", "wrong password")
	good := emailLogin("maria@example.com", "correct horse battery")

	for i := 0; i < 2; i++ { // free attempts
		_, err := f.login(bad)
		testkit.WantReason(t, err, ReasonInvalidCredentials)
	}
	_, err := f.login(bad) // third failure: blocked for 1s
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	_, err = f.login(good) // even the right password waits
	testkit.WantReason(t, err, ReasonLoginThrottled)
	if got := retryAfter(t, err); got != time.Second {
		t.Errorf("retry after %v, want 1s", got)
	}

	f.clock.Advance(time.Second)
	_, err = f.login(bad) // fourth: 2s
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	_, err = f.login(bad)
	if got := retryAfter(t, err); got != 2*time.Second {
		t.Errorf("retry after %v, want 2s", got)
	}
	f.clock.Advance(2 * time.Second)
	_, err = f.login(bad) // fifth: lockout
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	_, err = f.login(good)
	if got := retryAfter(t, err); got != 10*time.Minute {
		t.Errorf("retry after %v, want the 10m lockout", got)
	}

	f.clock.Advance(10 * time.Minute)
	if _, err := f.login(good); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	// Success forgets the account's failures: two more are free again.
	for i := 0; i < 2; i++ {
		_, err := f.login(bad)
		testkit.WantReason(t, err, ReasonInvalidCredentials)
	}
	if _, err := f.login(good); err != nil {
		t.Errorf("free attempts not restored after success: %v", err)
	}
}

func TestLogin_ThrottlesUnknownAccountsTheSameWay(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Throttle.AccountFree, c.Throttle.AccountLockoutAfter = 1, 3 })
	ghost := emailLogin("ghost@example.com", "whatever password")
	_, err := f.login(ghost)
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	_, err = f.login(ghost)
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	_, err = f.login(ghost)
	testkit.WantReason(t, err, ReasonLoginThrottled)
}

func TestLogin_ThrottlesAClientAddressAcrossAccounts(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Throttle.AddressFree, c.Throttle.AddressLockoutAfter = 3, 4 })
	f.registerPatient("maria@example.com", "529.982.247-25")
	from := func(addr string, req *identityv1.LoginRequest) error {
		r := connect.NewRequest(req)
		r.Header().Set("X-Forwarded-For", addr) // the test client is a trusted proxy
		_, err := f.client.Login(context.Background(), r)
		return err
	}
	for _, victim := range []string{"a@x.com", "b@x.com", "c@x.com", "d@x.com"} {
		err := from("203.0.113.7", emailLogin(victim, "guess guess"))
		testkit.WantReason(t, err, ReasonInvalidCredentials)
	}
	err := from("203.0.113.7", emailLogin("maria@example.com", "correct horse battery"))
	testkit.WantReason(t, err, ReasonLoginThrottled)
	if err := from("198.51.100.1", emailLogin("maria@example.com", "correct horse battery")); err != nil {
		t.Errorf("another address is blocked too: %v", err)
	}
}

func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("not a connect error: %v", err)
	}
	for _, d := range ce.Details() {
		if v, _ := d.Value(); v != nil {
			if ri, ok := v.(*errdetails.RetryInfo); ok {
				return ri.GetRetryDelay().AsDuration()
			}
		}
	}
	t.Fatalf("no RetryInfo in %v", err)
	return 0
}

func TestAddressBlock_IPv6ClientsAreThrottledByTheir64(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":               "203.0.113.7",
		"2001:db8:1:2:aaaa::1":      "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff::9": "2001:db8:1:2::/64",
		"2001:db8:1:3::1":           "2001:db8:1:3::/64",
		"not an address":            "not an address",
	} {
		if got := addressBlock(in); got != want {
			t.Errorf("addressBlock(%q) = %q, want %q", in, got, want)
		}
	}
}

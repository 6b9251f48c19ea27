package identity

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"connectrpc.com/connect"

	accessv1 "healthcore/gen/healthcore/access/v1"
	identityv1 "healthcore/gen/healthcore/identity/v1"
	"healthcore/platform/errs"
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
	if got := testkit.RetryAfter(t, err); got != time.Second {
		t.Errorf("retry after %v, want 1s", got)
	}

	f.clock.Advance(time.Second)
	_, err = f.login(bad) // fourth: 2s
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	_, err = f.login(bad)
	if got := testkit.RetryAfter(t, err); got != 2*time.Second {
		t.Errorf("retry after %v, want 2s", got)
	}
	f.clock.Advance(2 * time.Second)
	_, err = f.login(bad) // fifth: lockout
	testkit.WantReason(t, err, ReasonInvalidCredentials)
	_, err = f.login(good)
	if got := testkit.RetryAfter(t, err); got != 10*time.Minute {
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
		_, err := f.loginFrom(addr, req)
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

// loginFrom logs in as a client at addr (the test client is a trusted proxy).
func (f *fixture) loginFrom(addr string, req *identityv1.LoginRequest) (*identityv1.LoginResponse, error) {
	r := connect.NewRequest(req)
	r.Header().Set("X-Forwarded-For", addr)
	resp, err := f.client.Login(context.Background(), r)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

func TestLogin_ConcurrentGuessesCannotOutrunTheThrottle(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		// A slower hash than the other tests', so that guesses overlap as they do in
		// production (about 30 ms each there).
		c.Argon2 = Argon2Params{MemoryKiB: 8 * 1024, Iterations: 2, Parallelism: 1, MaxConcurrent: 4}
	})
	f.registerPatient("maria@example.com", "529.982.247-25")
	policy := f.svc.cfg.Throttle
	before := f.svc.passwordChecks.Load()

	const guesses = 100
	answers := make(chan error, guesses)
	start := make(chan struct{})
	for range guesses {
		go func() {
			<-start
			_, err := f.loginFrom("203.0.113.7", emailLogin("maria@example.com", "wrong password"))
			answers <- err
		}()
	}
	close(start)
	var unauthenticated, throttled int
	for range guesses {
		err := <-answers
		switch {
		case errs.Has(err, ReasonInvalidCredentials):
			unauthenticated++
		case errs.Has(err, ReasonLoginThrottled):
			throttled++
		default:
			t.Errorf("unexpected answer: %v", err)
		}
	}
	checks := int(f.svc.passwordChecks.Load() - before)
	// The clock stands still: the attempt after the free ones starts a wait that
	// refuses every later one.
	if limit := policy.AccountFree + 1; checks > limit || unauthenticated > limit {
		t.Errorf("%d passwords checked, %d answered INVALID_CREDENTIALS; the policy allows %d", checks, unauthenticated, limit)
	}
	if checks != unauthenticated || throttled != guesses-unauthenticated {
		t.Errorf("%d checks, %d INVALID_CREDENTIALS, %d LOGIN_THROTTLED of %d", checks, unauthenticated, throttled, guesses)
	}
}

func TestLogin_EmailAndCPFOfOneAccountShareOneCount(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Throttle.AccountFree, c.Throttle.AccountLockoutAfter = 2, 5 })
	f.registerPatient("maria@example.com", "529.982.247-25")
	byCPF := func(password string) *identityv1.LoginRequest {
		return &identityv1.LoginRequest{Login: &identityv1.LoginRequest_Cpf{Cpf: "529.982.247-25"}, Password: password}
	}
	for _, req := range []*identityv1.LoginRequest{emailLogin("maria@example.com", "wrong password"), byCPF("wrong password"), byCPF("wrong again")} {
		_, err := f.login(req)
		testkit.WantReason(t, err, ReasonInvalidCredentials)
	}
	// The third failure of the account started a wait, whichever name it came by.
	_, err := f.login(emailLogin("maria@example.com", "correct horse battery"))
	testkit.WantReason(t, err, ReasonLoginThrottled)
}

// TestLogin_AnAttackerCannotLockTheOwnerOut proves both sides of the policy: clients
// the account logged in from before are throttled only by their own failures, while
// all other clients together get a bounded number of guesses.
func TestLogin_AnAttackerCannotLockTheOwnerOut(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		c.Throttle = ThrottlePolicy{
			AccountFree: 3, AccountLockoutAfter: 5, AccountGlobalFree: 6, AccountGlobalMaxDelay: time.Minute,
			AddressFree: 100, AddressLockoutAfter: 1000,
			BaseDelay: time.Second, Lockout: 15 * time.Minute, Window: 15 * time.Minute, KnownClientFor: 24 * time.Hour,
		}
	})
	f.registerPatient("maria@example.com", "529.982.247-25")
	good := emailLogin("maria@example.com", "correct horse battery")
	const home, phoneAddr = "198.51.100.1", "192.0.2.50"

	first, err := f.loginFrom(home, good) // the owner's earlier login: home and this device become known
	if err != nil {
		t.Fatal(err)
	}
	device := first.GetDeviceToken()
	if len(device) != 43 {
		t.Fatalf("device token %q", device)
	}

	// One attacker address is locked on the account after its own failures...
	guess := func(addr string) error {
		_, err := f.loginFrom(addr, emailLogin("maria@example.com", "guess guess"))
		return err
	}
	// untilThrottled guesses from addr until refused and returns the guesses checked.
	untilThrottled := func(addr string) int {
		t.Helper()
		for n := 0; n < 10; n++ {
			err := guess(addr)
			if errs.Has(err, ReasonLoginThrottled) {
				return n
			}
			testkit.WantReason(t, err, ReasonInvalidCredentials)
		}
		t.Fatalf("%s never throttled", addr)
		return 0
	}
	guesses := untilThrottled("203.0.113.1")
	if guesses != 4 {
		t.Fatalf("one address had %d guesses, want AccountFree+1 = 4", guesses)
	}
	// ...and many addresses together are bounded by the account's budget.
	for i := 2; i <= 20; i++ {
		guesses += untilThrottled(fmt.Sprintf("203.0.113.%d", i))
	}
	if guesses != 7 {
		t.Errorf("20 addresses had %d guesses, want AccountGlobalFree+1 = 7", guesses)
	}
	_, err = f.loginFrom("203.0.113.99", good) // a new client, even with the right password, waits
	testkit.WantReason(t, err, ReasonLoginThrottled)

	// The owner gets in from home, and from a new address with the device token.
	if _, err := f.loginFrom(home, good); err != nil {
		t.Errorf("owner from home: %v", err)
	}
	withDevice := emailLogin("maria@example.com", "correct horse battery")
	withDevice.DeviceToken = device
	resp, err := f.loginFrom(phoneAddr, withDevice)
	if err != nil {
		t.Fatalf("owner with the device token from a new address: %v", err)
	}
	if resp.GetDeviceToken() != device {
		t.Errorf("a known device got a new token")
	}
	// A token is the account's own: on another account it is an unknown client.
	f.registerPatient("ana@example.com", "123.456.789-09")
	other := emailLogin("ana@example.com", "correct horse battery")
	other.DeviceToken = device
	if resp, err := f.loginFrom(phoneAddr, other); err != nil || resp.GetDeviceToken() == device {
		t.Errorf("device token of another account: %v, token %q", err, resp.GetDeviceToken())
	}

	// The account is slowed, not shut: after the wait the attackers get one more guess,
	// and the next wait is twice as long.
	f.clock.Advance(time.Second)
	testkit.WantReason(t, guess("203.0.113.21"), ReasonInvalidCredentials)
	err = guess("203.0.113.22")
	testkit.WantReason(t, err, ReasonLoginThrottled)
	if got := testkit.RetryAfter(t, err); got != 2*time.Second {
		t.Errorf("next wait %v, want 2s", got)
	}
	// The owner's own failures still lock the owner's device, and only it.
	for range 5 {
		bad := emailLogin("maria@example.com", "fat fingers")
		bad.DeviceToken = device
		_, err = f.loginFrom(phoneAddr, bad)
	}
	testkit.WantReason(t, err, ReasonLoginThrottled)
	if _, err := f.loginFrom(home, good); err != nil {
		t.Errorf("owner from home after the device locked itself: %v", err)
	}
}

func TestLogin_ManyAccountsLoggingInAtOnceFromOneAddressAreNotFailures(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Throttle.AddressFree, c.Throttle.AddressLockoutAfter = 2, 3 })
	const n = 8 // a clinic's front desk behind one address
	for i := range n {
		f.registerDoctor(fmt.Sprintf("%06d", 200000+i), "SP")
	}
	answers := make(chan error, n)
	for i := range n {
		go func() {
			_, err := f.loginFrom("203.0.113.50", &identityv1.LoginRequest{
				Login:    &identityv1.LoginRequest_Crm{Crm: &identityv1.Crm{Number: fmt.Sprintf("%06d", 200000+i), Uf: "SP"}},
				Password: "doctor password 1",
			})
			answers <- err
		}()
	}
	for range n {
		if err := <-answers; err != nil {
			t.Errorf("login: %v", err)
		}
	}
	// The address's count holds failures only: two are still free.
	for range 2 {
		_, err := f.loginFrom("203.0.113.50", emailLogin("nobody@example.com", "guess guess"))
		testkit.WantReason(t, err, ReasonInvalidCredentials)
	}
}

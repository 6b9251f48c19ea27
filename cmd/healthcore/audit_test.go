package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"healthcore/internal/catalog"
	"healthcore/partneredge"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/mtls"
	"healthcore/platform/pg"
	"healthcore/platform/pgtest"
	"healthcore/services/identity"
	"healthcore/services/records"
)

// keysService runs `healthcore serve keys` (the local driver, allowed) in the test over
// mTLS with dev-certs' certificates and token keys in dir, and returns the flags by
// which a command reaches it as caller.
func keysService(t *testing.T, dir string) func(caller string) []string {
	t.Helper()
	if err := run(context.Background(), []string{"dev-certs", "-dir", dir}); err != nil {
		t.Fatal(err)
	}
	addr, err := catalog.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	tlsFlags := func(name string) []string {
		f := mtls.DevFiles(dir, name)
		return []string{"-tls-cert=" + f.Cert, "-tls-key=" + f.Key, "-tls-ca=" + f.CA, "-keys.url=http://" + addr}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "keys", "-keys.addr=" + addr, "-keys.driver=local", "-allow-dev-drivers",
			"-trusted-proxies=none", "-data-dir=" + t.TempDir(), "-service-keys=" + dir, "-log-level=warn",
			"-ops-addr=", // no ops listener: the default 127.0.0.1:9090 may be another process's
		}, tlsFlags("keys")...))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve keys: %v", err)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve keys: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("serve keys is not listening after 10s")
		}
	}
	return tlsFlags
}

func TestCreateAdminAndAuditVerify_AgainstTheKeysService(t *testing.T) {
	clearEnv(t)
	ctx := context.Background()
	dir := t.TempDir()
	as := keysService(t, dir)
	dbURL := pgtest.URL(t, identity.Schema, records.Schema)
	db := "-database-url=" + dbURL

	// create-admin calls keys as identity, by identity's certificate: the admin's
	// creation is the first entry of identity's audit chain.
	t.Setenv("HEALTHCORE_ADMIN_PASSWORD", "a long admin password")
	if err := run(ctx, append([]string{"create-admin", db, "-name=Ops", "-email=ops@example.com"}, as("identity")...)); err != nil {
		t.Fatal(err)
	}
	// Without the keys service's consent (another service's certificate) it is refused.
	err := run(ctx, append([]string{"create-admin", db, "-name=Ops", "-email=ops2@example.com"}, as("directory")...))
	if !errs.Has(err, authn.ReasonCallerNotAllowed) {
		t.Errorf("create-admin calling keys as directory: %v, want %s", err, authn.ReasonCallerNotAllowed.Name())
	}

	verify := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runAuditVerify(ctx, append([]string{db}, args...), &out)
		return out.String(), err
	}
	// Both logs: the command calls keys as identity and as records, which its token keys
	// prove (the certificate names identity alone).
	out, err := verify(append(as("identity"), "-service-keys="+dir)...)
	if err != nil {
		t.Fatalf("audit-verify on an intact chain: %v\n%s", err, out)
	}
	for _, want := range []string{"identity.audit_log: 1 rows checked", "records.access_log: 0 rows checked", ": intact"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit-verify output does not say %q:\n%s", want, out)
		}
	}

	// A superuser changes the admin's entry behind the log's back.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var id int64
	if err := pg.InTx(ctx, conn, func(tx pgx.Tx) error {
		for _, sql := range []string{
			"ALTER TABLE identity.audit_log DISABLE TRIGGER USER",
			"UPDATE identity.audit_log SET outcome = 'denied' WHERE id = (SELECT max(id) FROM identity.audit_log) RETURNING id",
			"ALTER TABLE identity.audit_log ENABLE TRIGGER USER",
		} {
			if strings.HasPrefix(sql, "UPDATE") {
				if err := tx.QueryRow(ctx, sql).Scan(&id); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, sql); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, err = verify(append(as("identity"), "-log=identity")...) // mTLS alone: identity's certificate
	if !errors.Is(err, errChainBroken) {
		t.Errorf("audit-verify after a row was changed: %v, want the chain broken\n%s", err, out)
	}
	if want := fmt.Sprintf("BROKEN at row %d", id); !strings.Contains(out, want) {
		t.Errorf("audit-verify output does not say %q:\n%s", want, out)
	}
	if strings.Contains(out, "records.access_log") {
		t.Errorf("-log=identity verified records' log too:\n%s", out)
	}
}

func TestMigratePrintGrants_NamesTheOwnerAndEveryServiceRoleWithoutADatabase(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://127.0.0.1:1/unreachable")
	var out bytes.Buffer
	if err := runMigrate(context.Background(), []string{"-print-grants", "-owner=healthcore_owner"}, &out); err != nil {
		t.Fatal(err)
	}
	sql := out.String()
	want := []string{`"healthcore_owner"`}
	for _, s := range append(catalog.Schemas(catalog.Names()), partneredge.Schema) {
		want = append(want, `"`+pg.Role(s.Name)+`"`)
	}
	for _, w := range want {
		if !strings.Contains(sql, w) {
			t.Errorf("the grants do not name %s:\n%s", w, sql)
		}
	}
	out.Reset()
	if err := runMigrate(context.Background(), []string{"-print-grants", "-owner=healthcore_owner", "-services=identity"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"healthcore_identity"`) || strings.Contains(out.String(), `"healthcore_records"`) ||
		strings.Contains(out.String(), `"healthcore_partneredge"`) {
		t.Errorf("-services=identity: grants for other services:\n%s", out.String())
	}
}

// TestAuditVerify_PartnerCallLog: audit-verify -log=partner-edge walks the partner
// edge's call log under the secret dev-certs wrote, says it holds, and fails once a row
// is changed behind the triggers' back.
func TestAuditVerify_PartnerCallLog(t *testing.T) {
	dir := t.TempDir()
	if err := run(context.Background(), []string{"dev-certs", "-dir", dir}); err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, partnerCallLogSecret)
	secret, err := partneredge.ReadSecret(secretFile, false)
	if err != nil {
		t.Fatal(err)
	}
	url := pgtest.URL(t, partneredge.Schema)
	db, err := pg.Open(context.Background(), url, partneredge.Schema.Name, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	calls, err := partneredge.OpenCallLog(db, secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{"ok", "resource_exhausted", "ok"} {
		err := calls.Append(context.Background(), partneredge.Call{At: time.Now().Truncate(time.Microsecond), ClientID: "c1", ClinicID: "k1",
			SecretID: "s1", Scope: "directory.read", Method: "/healthcore.directory.v1.DirectoryService/GetDoctor", Code: code})
		if err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"audit-verify", "-log=partner-edge", "-database-url=" + url, "-partner-edge.call-log-secret=" + secretFile,
		"-insecure-transport", "-log-level=warn"}
	var out bytes.Buffer
	if err := runAuditVerify(context.Background(), args[1:], &out); err != nil {
		t.Fatalf("audit-verify: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "partneredge.call_log") || !strings.Contains(out.String(), "3") {
		t.Errorf("report %q, want the call log's 3 rows", out.String())
	}
	if err := runAuditVerify(context.Background(), []string{"-log=partner-edge", "-database-url=" + url}, &out); err == nil {
		t.Error("audit-verify -log=partner-edge without the secret: no error")
	}

	if _, err := db.Exec(context.Background(), `ALTER TABLE call_log DISABLE TRIGGER USER`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(context.Background(), `UPDATE call_log SET code = 'ok' WHERE code = 'resource_exhausted'`); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runAuditVerify(context.Background(), args[1:], &out); !errors.Is(err, errChainBroken) {
		t.Errorf("after a row changed: %v, want %v\n%s", err, errChainBroken, out.String())
	}
}

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"healthcore/internal/catalog"
	"healthcore/platform/authn"
	"healthcore/platform/mtls"
)

func TestDevCerts_WritesACertificatePerServiceAndTheGatewayAndTheTokenKeys(t *testing.T) {
	dir := t.TempDir()
	if err := run(context.Background(), []string{"dev-certs", "-dir", dir}); err != nil {
		t.Fatal(err)
	}
	for _, name := range append(catalog.Names(), "gateway") {
		src, err := mtls.Open(mtls.DevFiles(dir, name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := src.Services(); !slices.Equal(got, []string{name}) {
			t.Errorf("%s's certificate names %v", name, got)
		}
	}
	keys, err := authn.LoadServiceKeys(dir, catalog.Names())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range catalog.Names() {
		if !keys.CanSign(name) {
			t.Errorf("no token key pair for %s", name)
		}
	}
	// Run again: new certificates, the same token keys.
	pub, _ := os.ReadFile(filepath.Join(dir, "keys.pub"))
	cert, _ := os.ReadFile(filepath.Join(dir, "keys.pem"))
	if err := run(context.Background(), []string{"dev-certs", "-dir", dir}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "keys.pub")); !bytes.Equal(again, pub) {
		t.Error("a second run replaced the token keys")
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "keys.pem")); bytes.Equal(again, cert) {
		t.Error("a second run kept the old certificate")
	}
	if err := os.Remove(filepath.Join(dir, "keys.key")); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"dev-certs", "-dir", dir}); err == nil || !strings.Contains(err.Error(), "keys.key") {
		t.Errorf("a half set of token keys: %v", err)
	}
	if err := run(context.Background(), []string{"dev-certs"}); err == nil || !strings.Contains(err.Error(), "-dir is required") {
		t.Errorf("dev-certs without -dir: %v", err)
	}
}

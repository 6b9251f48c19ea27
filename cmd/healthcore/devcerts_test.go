package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"healthcore/internal/catalog"
	"healthcore/platform/mtls"
)

func TestDevCerts_WritesACertificateNamingEachServiceAndTheGateway(t *testing.T) {
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
	if err := run(context.Background(), []string{"dev-certs"}); err == nil || !strings.Contains(err.Error(), "-dir is required") {
		t.Errorf("dev-certs without -dir: %v", err)
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"healthcore/internal/catalog"
	"healthcore/platform/mtls"
)

// runDevCerts writes a local CA and a certificate per service and for the gateway, so
// that a stack of separate processes on one machine runs over mTLS as a cluster does.
func runDevCerts(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("dev-certs", flag.ContinueOnError)
	dir := fs.String("dir", "", "folder to write ca.pem, <service>.pem and <service>-key.pem into (made if missing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-dir is required: the folder to write the certificates into")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	names := append(catalog.Names(), "gateway")
	if err := mtls.WriteDevCerts(*dir, names); err != nil {
		return err
	}
	f := mtls.DevFiles(*dir, "<service>")
	fmt.Printf("development CA and certificates for %s written to %s (certificates valid 90 days)\n"+
		"each process: -tls-ca=%s -tls-cert=%s -tls-key=%s\n", serviceNames()+", gateway", *dir, f.CA, f.Cert, f.Key)
	return nil
}

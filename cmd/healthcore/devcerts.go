package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"healthcore/internal/catalog"
	"healthcore/partneredge"
	"healthcore/platform/authn"
	"healthcore/platform/mtls"
)

// runDevCerts writes a local CA and a certificate per service and for the gateway, so
// that a stack of separate processes on one machine runs over mTLS as a cluster does,
// and the services' token key pairs (kept when the folder already has them: a
// service's key is rotated, never silently replaced).
func runDevCerts(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("dev-certs", flag.ContinueOnError)
	dir := fs.String("dir", "", "folder to write ca.pem, <service>.pem, <service>-key.pem and the token keys <service>.pub, <service>.key into (made if missing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("-dir is required: the folder to write the certificates into")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	names := append(catalog.Names(), "gateway", partneredge.Caller)
	if err := mtls.WriteDevCerts(*dir, names); err != nil {
		return err
	}
	// The partner edge's call log is chained under a secret of its own, kept if there.
	if _, err := partneredge.ReadSecret(filepath.Join(*dir, partnerCallLogSecret), true); err != nil {
		return err
	}
	keys := "written"
	switch have, err := serviceKeysIn(*dir); {
	case err != nil:
		return err
	case have:
		keys = "kept (already there)"
	default:
		if err := authn.WriteServiceKeys(*dir, catalog.Names()); err != nil {
			return err
		}
	}
	f := mtls.DevFiles(*dir, "<service>")
	fmt.Printf("development CA and certificates for %s written to %s (certificates valid 90 days), service token keys %s\n"+
		"each process: -tls-ca=%s -tls-cert=%s -tls-key=%s -service-keys=%s\n",
		serviceNames()+", gateway, "+partneredge.Caller, *dir, keys, f.CA, f.Cert, f.Key, *dir)
	fmt.Printf("the partner edge: -partner-edge.call-log-secret=%s\n", filepath.Join(*dir, partnerCallLogSecret))
	return nil
}

// partnerCallLogSecret is the file dev-certs writes the partner call log's secret to.
const partnerCallLogSecret = "partner-edge-call-log.secret"

// serviceKeysIn tells whether dir holds every service's token key pair already; some
// but not all is an error, so a half-written set is never completed with new keys.
func serviceKeysIn(dir string) (bool, error) {
	var have, missing []string
	for _, name := range catalog.Names() {
		for _, file := range []string{name + ".pub", name + ".key"} {
			if _, err := os.Stat(filepath.Join(dir, file)); err == nil {
				have = append(have, file)
			} else {
				missing = append(missing, file)
			}
		}
	}
	if len(have) > 0 && len(missing) > 0 {
		return false, fmt.Errorf("%s holds some service token keys but not %s: remove them all to make a new set", dir, strings.Join(missing, ", "))
	}
	return len(missing) == 0, nil
}

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"healthcore/services/identity"
)

// runTOTPCode prints the current TOTP code of a base32 secret (EnrollTotp's answer):
// the authenticator app of the README's walk-through and of anyone without one.
func runTOTPCode(args []string, out io.Writer, now time.Time) error {
	fs := flag.NewFlagSet("totp-code", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: healthcore totp-code <base32-secret>\n\nprints the current 6-digit code of the secret, as an authenticator app would")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("totp-code: give the base32 secret EnrollTotp answered")
	}
	code, err := identity.TOTPCode(fs.Arg(0), now)
	if err != nil {
		return fmt.Errorf("totp-code: %w", err)
	}
	_, err = fmt.Fprintln(out, code)
	return err
}

package e2e

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"healthcore/internal/catalog"
)

// TestWeb_JourneyInChromium runs the web app's browser tests (web/tests, with
// Playwright driving Debian's Chromium) against a real healthcore dev stack on free
// ports with a verified, listed doctor, whose TOTP secret the tests get to compute the
// second factor's code as the doctor's authenticator app would. make test-web runs it
// (it needs Node, the web app's packages and /usr/bin/chromium); make test skips it.
func TestWeb_JourneyInChromium(t *testing.T) {
	if os.Getenv("HEALTHCORE_WEB_TESTS") == "" {
		t.Skip("the browser tests run with make test-web")
	}
	// dev -demo: a slot may be booked 31 minutes ahead, its room opens an hour before
	// the start and the finish control ends a consultation now. The doctor's 25-minute
	// slots every 30 minutes put the first bookable one less than 61 minutes ahead, so
	// its room is open (or opens within a minute) while a later one's is not yet.
	demo, err := catalog.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	s := startDev(t, "-demo", "-demo-addr="+demo)
	s.openDoctor("Dra. Ana Souza", "654321", "ana@clinica.com.br", 25000, 25, 5)
	// HEALTHCORE_WEB_SPECS narrows the run to some spec files (tests/chime.spec.ts …).
	cmd := exec.Command("npx", append([]string{"playwright", "test", "--project=unit", "--project=chromium"}, strings.Fields(os.Getenv("HEALTHCORE_WEB_SPECS"))...)...)
	cmd.Dir = "../web"
	cmd.Env = append(os.Environ(), "HEALTHCORE_URL="+s.gateway, "HEALTHCORE_PIX_SANDBOX="+s.sandbox, "HEALTHCORE_DEMO_URL=http://"+demo,
		"HEALTHCORE_DOCTOR_CRM=654321", "HEALTHCORE_DOCTOR_UF=SP", "HEALTHCORE_DOCTOR_PASSWORD=doctor password 1",
		"HEALTHCORE_DOCTOR_TOTP_SECRET="+s.totp["654321/SP"])
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("playwright: %v (traces and screenshots under web/test-results)", err)
	}
}

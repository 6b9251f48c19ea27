// Command healthcore runs the Healthcore platform: every service in one process for
// development (dev), chosen services for a deployment (serve), the REST edge (gateway),
// the partner clinics' gRPC edge (partner-edge), and operations (migrate, keys-rotate, dev-certs, create-admin, audit-verify,
// apigateway-export).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // doctors' time zones must resolve even in an image without zoneinfo

	"healthcore/internal/catalog"
)

// version is stamped at build time (make image, deploy/Dockerfile):
// -ldflags "-X main.version=…".
var version = "dev"

const usage = `healthcore — the Healthcore telemedicine platform

Usage:
  healthcore dev [flags]                 every service, the gateway and local drivers in one process
  healthcore serve <service>… [flags]    the named services (%s)
  healthcore gateway [flags]             the REST edge, dialing the services' URLs
  healthcore partner-edge [flags]        the partner clinics' gRPC edge, dialing the services' URLs
  healthcore migrate [flags]             apply every service's database migrations
  healthcore migrate -print-grants -owner NAME   print the SQL giving each service its
                                         own database role (touches no database)
  healthcore keys-rotate [flags]         add a new version of the local master key
  healthcore dev-certs -dir DIR          write a local CA and a certificate per service
                                         and the gateway, for mTLS on one machine
  healthcore create-admin -name N -email E   create an operator account (password from
                                         HEALTHCORE_ADMIN_PASSWORD or standard input)
  healthcore audit-verify [-log=identity|records|all]   verify the audit logs' hash
                                         chains end to end (fails when one is broken)
  healthcore apigateway-export -issuer URL -audience A -vpc-link-id ID -alb-listener-arn ARN
                                         write the AWS API Gateway HTTP API import document
                                         (JWT authorizer, VPC link to the ALB)
  healthcore seed -doctors N [flags]     add N realistic doctor profiles (deterministic with -seed)
  healthcore totp-code <base32-secret>   print the current code of a TOTP secret (development:
                                         an authenticator app for the second factor)
  healthcore postgres [flags]            find or start PostgreSQL as dev does and print its URL
  healthcore version                     the version this binary was built as
  healthcore help                        this text; "healthcore <command> -h" lists the flags

Every flag can also be set as an environment variable HEALTHCORE_<FLAG>
(e.g. -identity.access-ttl → HEALTHCORE_IDENTITY_ACCESS_TTL); DATABASE_URL sets -database-url.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "healthcore:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Printf(usage, serviceNames())
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "dev":
		return runDev(ctx, args)
	case "serve":
		return runServe(ctx, args)
	case "gateway":
		return runGateway(ctx, args)
	case "partner-edge":
		return runPartnerEdge(ctx, args)
	case "migrate":
		return runMigrate(ctx, args, os.Stdout)
	case "keys-rotate":
		return runKeysRotate(ctx, args)
	case "dev-certs":
		return runDevCerts(ctx, args)
	case "seed":
		return runSeed(ctx, args)
	case "apigateway-export":
		return runAPIGatewayExport(args, os.Stdout)
	case "postgres":
		return runPostgres(ctx, args)
	case "create-admin":
		return runCreateAdmin(ctx, args)
	case "totp-code":
		return runTOTPCode(args, os.Stdout, time.Now())
	case "audit-verify":
		return runAuditVerify(ctx, args, os.Stdout)
	case "version":
		fmt.Println(version)
		return nil
	case "help", "-h", "--help":
		fmt.Printf(usage, serviceNames())
		return nil
	}
	return fmt.Errorf("unknown command %q (try: healthcore help)", cmd)
}

// serviceNames lists the catalog's services for messages.
func serviceNames() string { return strings.Join(catalog.Names(), ", ") }

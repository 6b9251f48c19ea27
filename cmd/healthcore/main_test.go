package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun_UnknownCommandAndServiceAreNamed(t *testing.T) {
	for args, want := range map[string]string{
		"launch":                               `unknown command "launch"`,
		"serve payroll":                        `unknown service "payroll" (services: keys, identity, directory, scheduling, pix, payments,`,
		"serve":                                "name the services to serve",
		"serve identity -trusted-proxies=none": "-tls-cert, -tls-key and -tls-ca (HEALTHCORE_TLS_CERT, HEALTHCORE_TLS_KEY, HEALTHCORE_TLS_CA) are required",
		"gateway -trusted-proxies=10.0.0.0/8":  "-tls-cert, -tls-key and -tls-ca (HEALTHCORE_TLS_CERT, HEALTHCORE_TLS_KEY, HEALTHCORE_TLS_CA) are required",
		"serve identity -trusted-proxies=none -insecure-transport": "-service-keys (HEALTHCORE_SERVICE_KEYS) is required",
		"serve identity -tls-cert=a.pem":                           "-tls-cert, -tls-key and -tls-ca: give all three or none",
		"migrate -x=1":                                             "flag provided but not defined: -x",
		"gateway -h":                                               "flag: help requested",
		"keys-rotate -gateway.max-body-bytes=5":                    "-gateway.max-body-bytes=5: must be at least 1024",
		// Production fails closed, naming the flag to set.
		"serve identity":                                      "-trusted-proxies (HEALTHCORE_TRUSTED_PROXIES) is required",
		"gateway":                                             "-trusted-proxies (HEALTHCORE_TRUSTED_PROXIES) is required",
		"serve pix -trusted-proxies=none":                     "-pix.driver: production runs only a driver named explicitly: set -pix.driver=mercadopago",
		"serve keys -trusted-proxies=none":                    "-keys.driver: production runs only a driver named explicitly: set -keys.driver=aws",
		"serve blobs -trusted-proxies=none":                   "-blobs.driver: production runs only a driver named explicitly: set -blobs.driver=s3",
		"serve meetings -trusted-proxies=none":                "-meetings.driver: production runs only a driver named explicitly: set -meetings.driver=chime",
		"serve pix -pix.driver=sandbox -trusted-proxies=none": "-pix.driver=sandbox is a development driver",
		"dev -allow-dev-drivers":                              "flag provided but not defined: -allow-dev-drivers",
		"gateway -allow-dev-drivers":                          "flag provided but not defined: -allow-dev-drivers",
		// Operations.
		"migrate -print-grants":                               "-owner is required with -print-grants",
		"migrate -owner=healthcore_owner":                     "-owner goes with -print-grants",
		"migrate -print-grants -owner=Bad-Name":               `"Bad-Name"`,
		"migrate -print-grants -owner=x -services=payroll":    `-services: unknown service "payroll"`,
		"audit-verify -log=billing":                           `-log="billing": must be identity, records, partner-edge or all`,
		"audit-verify":                                        "-database-url (DATABASE_URL) is required",
		"create-admin -database-url=postgres://127.0.0.1:1/x": "-tls-cert, -tls-key and -tls-ca (HEALTHCORE_TLS_CERT, HEALTHCORE_TLS_KEY, HEALTHCORE_TLS_CA) are required",
	} {
		t.Run(args, func(t *testing.T) {
			clearEnv(t, "DATABASE_URL", "HEALTHCORE_DATABASE_URL")
			err := run(context.Background(), strings.Fields(args))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("run(%q) = %v, want an error containing %q", args, err, want)
			}
		})
	}
}

// clearEnv empties the variables that would give a command its credentials (and those
// named), so that a test's outcome does not depend on the shell that runs it.
func clearEnv(t *testing.T, more ...string) {
	for _, v := range append([]string{"HEALTHCORE_SERVICE_KEYS", "HEALTHCORE_TLS_CERT", "HEALTHCORE_TLS_KEY", "HEALTHCORE_TLS_CA"}, more...) {
		t.Setenv(v, "")
	}
}

func TestHostPort_ListensEverywhereAreShownAsLoopback(t *testing.T) {
	for addr, want := range map[string]string{
		"0.0.0.0:8080": "127.0.0.1:8080", ":8080": "127.0.0.1:8080", "[::]:7001": "127.0.0.1:7001",
		"10.0.0.5:7002": "10.0.0.5:7002", "not-an-address": "not-an-address",
	} {
		if got := hostPort(addr); got != want {
			t.Errorf("hostPort(%q) = %q, want %q", addr, got, want)
		}
	}
}

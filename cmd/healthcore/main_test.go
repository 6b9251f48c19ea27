package main

import (
	"context"
	"strings"
	"testing"
)

func TestRun_UnknownCommandAndServiceAreNamed(t *testing.T) {
	for args, want := range map[string]string{
		"launch":                                `unknown command "launch"`,
		"serve payroll":                         `unknown service "payroll" (services: keys, identity, directory, scheduling, pix, payments,`,
		"serve":                                 "name the services to serve",
		"serve identity":                        "-tls-cert, -tls-key and -tls-ca (HEALTHCORE_TLS_CERT, HEALTHCORE_TLS_KEY, HEALTHCORE_TLS_CA) are required",
		"gateway":                               "-tls-cert, -tls-key and -tls-ca (HEALTHCORE_TLS_CERT, HEALTHCORE_TLS_KEY, HEALTHCORE_TLS_CA) are required",
		"serve identity -insecure-transport":    "-service-keys (HEALTHCORE_SERVICE_KEYS) is required",
		"serve identity -tls-cert=a.pem":        "-tls-cert, -tls-key and -tls-ca: give all three or none",
		"migrate -x=1":                          "flag provided but not defined: -x",
		"gateway -h":                            "flag: help requested",
		"keys-rotate -gateway.max-body-bytes=5": "-gateway.max-body-bytes=5: must be at least 1024",
	} {
		t.Run(args, func(t *testing.T) {
			for _, v := range []string{"HEALTHCORE_SERVICE_KEYS", "HEALTHCORE_TLS_CERT", "HEALTHCORE_TLS_KEY", "HEALTHCORE_TLS_CA"} {
				t.Setenv(v, "")
			}
			err := run(context.Background(), strings.Fields(args))
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("run(%q) = %v, want an error containing %q", args, err, want)
			}
		})
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

package catalog

import (
	"context"
	"flag"
	"slices"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"

	"healthcore/platform/config"
	"healthcore/platform/pg"
	"healthcore/platform/server"
)

// Service is one deployable service of the binary: its name and default port, its
// schema (if it owns data), its REST registration (if it is public), and how its
// settings and its server are made.
type Service struct {
	Name   string
	FQName string // fully-qualified gRPC service name
	Port   int    // default port
	Schema *pg.Schema
	REST   func(context.Context, *gwruntime.ServeMux, *grpc.ClientConn) error
	wiring
}

// Background is work a service runs beside serving until the context ends (nil: none).
type Background func(context.Context) error

// settings is a service's Config: flags named <service>.* and a check of their values.
type settings interface {
	RegisterFlags(*flag.FlagSet)
	Check(*config.Problems)
}

// wiring makes a service's settings with their defaults and starts the service from
// them and the process's shared parts.
type wiring struct {
	settings func() settings
	start    func(context.Context, *Process, settings) (*server.Server, Background, error)
}

// wire ties a service's Config (made by defaults) to its start function, which gets the
// Config as parsed.
func wire[C any, P interface {
	*C
	settings
}](defaults func() C, start func(context.Context, *Process, P) (*server.Server, Background, error)) wiring {
	return wiring{
		settings: func() settings { c := defaults(); return P(&c) },
		start: func(ctx context.Context, p *Process, s settings) (*server.Server, Background, error) {
			return start(ctx, p, s.(P))
		},
	}
}

// Services returns the services in start order.
func Services() []Service { return slices.Clone(services) }

// Names returns the services' names in start order.
func Names() []string {
	out := make([]string, len(services))
	for i, s := range services {
		out[i] = s.Name
	}
	return out
}

// Has tells whether name is a service of the catalog.
func Has(name string) bool { return slices.Contains(Names(), name) }

// Schemas returns the schemas of the named services, in start order.
func Schemas(names []string) []pg.Schema {
	var out []pg.Schema
	for _, s := range services {
		if s.Schema != nil && slices.Contains(names, s.Name) {
			out = append(out, *s.Schema)
		}
	}
	return out
}

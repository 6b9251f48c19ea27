package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// Prefix starts the environment variable of every flag.
const Prefix = "HEALTHCORE_"

// EnvName returns the environment variable that sets the named flag:
// "identity.access-ttl" → "HEALTHCORE_IDENTITY_ACCESS_TTL".
func EnvName(flagName string) string {
	return Prefix + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(flagName))
}

// Aliases are extra environment variables honoured for a flag, when its own
// HEALTHCORE_ variable is unset (DATABASE_URL is the usual name everywhere).
var Aliases = map[string]string{"database-url": "DATABASE_URL"}

// Parse parses args into fs, then fills every flag that was not on the command line
// from its environment variable (looked up with getenv). A malformed command line is
// returned as an error at once; bad environment values are added to problems, so the
// caller can report them together with its own checks.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) (string, bool), problems *Problems) error {
	fs.SetOutput(new(strings.Builder)) // flag errors are returned, not printed twice
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h: show the flags, as flag would
			fs.SetOutput(os.Stderr)
			fs.Usage()
		}
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := EnvName(f.Name)
		v, ok := getenv(name)
		if !ok && Aliases[f.Name] != "" {
			name = Aliases[f.Name]
			v, ok = getenv(name)
		}
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			problems.Addf("%s=%q (flag -%s): %v", name, v, f.Name, err)
		}
	})
	return nil
}

// Problems collects configuration errors so they are all reported together.
type Problems []string

// Addf records one problem.
func (p *Problems) Addf(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

// Check records a problem when ok is false.
func (p *Problems) Check(ok bool, format string, args ...any) {
	if !ok {
		p.Addf(format, args...)
	}
}

// Err returns nil when there is no problem, else one error listing them all.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New("invalid configuration:\n  - " + strings.Join(p, "\n  - "))
}

// Choice is a flag value restricted to a fixed set of words.
type Choice struct {
	Value   string
	Allowed []string
	// Named is set when the value was given (on the command line or in the
	// environment), not left at its default.
	Named bool
}

// String returns the current value.
func (c *Choice) String() string { return c.Value }

// Set accepts only one of the allowed words.
func (c *Choice) Set(s string) error {
	for _, a := range c.Allowed {
		if s == a {
			c.Value, c.Named = s, true
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(c.Allowed, ", "))
}

// Driver is an adapter's choice of driver, as production checks it.
type Driver struct {
	Flag       string // the flag that chooses it, e.g. "pix.driver"
	Choice     Choice
	Dev        bool   // the chosen driver is a development one (a sandbox, a local stand-in)
	Production string // the production driver's name, for the message
	Why        string // what the development driver would expose in production
}

// CheckProduction records a problem when a production process would run a driver
// nobody chose, or a development driver without allowDev: production fails closed
// instead of silently running a sandbox, a master key on the pod's disk or local files.
func CheckProduction(p *Problems, d Driver, allowDev bool) {
	switch {
	case !d.Choice.Named:
		p.Addf("-%s: production runs only a driver named explicitly: set -%s=%s (HEALTHCORE_%s)",
			d.Flag, d.Flag, d.Production, strings.TrimPrefix(EnvName(d.Flag), Prefix))
	case d.Dev && !allowDev:
		p.Addf("-%s=%s is a development driver (%s): set -%s=%s, or add -allow-dev-drivers to run it outside dev on purpose",
			d.Flag, d.Choice.Value, d.Why, d.Flag, d.Production)
	}
}

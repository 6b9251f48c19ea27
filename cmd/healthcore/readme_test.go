package main

import (
	"flag"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"healthcore/internal/catalog"
)

// TestREADME_ConfigurationTableMatchesTheFlags reads the README's configuration table
// and checks each flag it names exists, with the default it states: for dev where the
// row says "dev …", else for serve (whose defaults are production's).
func TestREADME_ConfigurationTableMatchesTheFlags(t *testing.T) {
	readme := readREADME(t)
	section := readme[strings.Index(readme, "\n## Configuration\n"):]
	section = section[:strings.Index(section, "\n### Production refuses")]

	devFS := flag.NewFlagSet("dev", flag.ContinueOnError)
	catalog.NewConfig(devFS, true)
	new(devDemo).registerFlags(devFS)
	serveFS := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg := catalog.NewConfig(serveFS, false)
	cfg.RegisterServeFlags(serveFS)

	ticked := regexp.MustCompile("`([^`]*)`")
	rows := 0
	for line := range strings.SplitSeq(section, "\n") {
		if !strings.HasPrefix(line, "| `-") {
			continue
		}
		cells := strings.Split(line, " | ")
		names, def := cells[0], cells[1]
		if strings.Contains(names, "<service>") || strings.HasPrefix(def, "sandbox: ") {
			continue // per-service address rows, conditional defaults: described, not one value
		}
		rows++
		var flags []string
		for _, m := range ticked.FindAllStringSubmatch(names, -1) {
			name, ok := strings.CutPrefix(m[1], "-")
			if !ok {
				continue // the environment variable
			}
			if serveFS.Lookup(name) == nil && len(flags) > 0 {
				// "-identity.throttle-account-free / -address-free": the same prefix.
				prefix, _, _ := strings.Cut(flags[0], ".")
				var found []string
				serveFS.VisitAll(func(f *flag.Flag) {
					if strings.HasPrefix(f.Name, prefix+".") && strings.HasSuffix(f.Name, "-"+name) {
						found = append(found, f.Name)
					}
				})
				if len(found) == 1 {
					name = found[0]
				}
			}
			if serveFS.Lookup(name) == nil && devFS.Lookup(name) == nil {
				t.Errorf("README's configuration names -%s, which healthcore does not have", name)
				continue
			}
			flags = append(flags, name)
		}
		if len(flags) == 0 {
			continue
		}
		if dev, ok := strings.CutPrefix(def, "dev "); ok {
			// "dev `x`, else `y`", "dev on, else off", or "dev `x`; `serve`: required"
			// (serve refuses to start unless the flag is given: no default to check).
			dev, serve, ok := strings.Cut(dev, ", else ")
			if !ok {
				var rest string
				dev, rest, _ = strings.Cut(dev, "; ")
				if !strings.HasSuffix(rest, ": required") {
					t.Errorf("README's default of -%s: %q names no default outside dev", flags[0], def)
				}
			}
			checkDefault(t, devFS.Lookup(flags[0]), "dev", unticked(dev))
			if ok {
				checkDefault(t, serveFS.Lookup(flags[0]), "serve", unticked(serve))
			}
			continue
		}
		parts := splitDefaults(def)
		if len(parts) != len(flags) {
			if !strings.Contains(def, "`") {
				continue // a description ("PDF, JPEG, …"), not values
			}
			t.Errorf("README's configuration row %v gives %d defaults (%q) for %d flags", flags, len(parts), def, len(flags))
			continue
		}
		for i, name := range flags {
			if f := serveFS.Lookup(name); f != nil {
				checkDefault(t, f, "serve", unticked(parts[i]))
			} else {
				checkDefault(t, devFS.Lookup(name), "dev", unticked(parts[i])) // dev's alone
			}
		}
	}
	if rows < 30 {
		t.Errorf("read %d rows of the README's configuration table: is it still there?", rows)
	}
}

// splitDefaults splits a default cell into one value per flag: "`1h`, `40m`",
// "`5` / `20`", "`us-east-1`, (regional)".
func splitDefaults(cell string) []string {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return nil
	}
	var out []string
	for part := range strings.SplitSeq(strings.ReplaceAll(cell, " / ", ", "), ", ") {
		out = append(out, part)
	}
	return out
}

// unticked is a default as the README writes it, as a flag would print it: `x` → x,
// on/off → true/false, "(…)" (made at run time, or none) → empty.
func unticked(s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "on":
		return "true"
	case s == "off":
		return "false"
	case strings.HasPrefix(s, "("):
		return ""
	}
	return strings.Trim(s, "`")
}

func checkDefault(t *testing.T, f *flag.Flag, cmd, want string) {
	t.Helper()
	if f == nil {
		t.Errorf("no flag for a README default %q (%s)", want, cmd)
		return
	}
	got := f.DefValue
	if got == want || (got == "false" && want == "") {
		return
	}
	if g, err1 := time.ParseDuration(got); err1 == nil {
		if w, err2 := time.ParseDuration(want); err2 == nil && g == w {
			return
		}
	}
	t.Errorf("README says -%s defaults to %q (%s); healthcore %s -h says %q", f.Name, want, cmd, cmd, got)
}

// TestREADME_ShowsTheBannerMakeRunPrints: the README's copy of make run's banner is
// what dev prints with its defaults, and the demo's line is the one -demo adds.
func TestREADME_ShowsTheBannerMakeRunPrints(t *testing.T) {
	unsetEnv(t, "HEALTHCORE_DEMO", "HEALTHCORE_OPS_ADDR", "HEALTHCORE_PPROF", "HEALTHCORE_REFLECTION", "HEALTHCORE_GATEWAY_ADDR", "HEALTHCORE_DATA_DIR")
	cfg, demo, err := parseDev([]string{"-demo"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	printDevBanner(&b, cfg, "postgres://postgres@127.0.0.1:5432/healthcore?sslmode=disable", demo)
	printed := strings.TrimSpace(b.String())
	readme := readREADME(t)
	i := strings.Index(readme, "```\nHealthcore is running")
	if i < 0 {
		t.Fatal("the README no longer shows make run's banner")
	}
	shown := readme[i+len("```\n"):]
	shown = strings.TrimSpace(shown[:strings.Index(shown, "```")])
	var demoLine string
	var lines []string
	for l := range strings.SplitSeq(printed, "\n") {
		if strings.HasPrefix(l, "  Demo ") {
			demoLine = l
			continue
		}
		lines = append(lines, l)
	}
	if want := strings.Join(lines, "\n"); shown != want {
		t.Errorf("the README shows the banner\n%s\n\nmake run prints\n%s", shown, want)
	}
	// "`make demo` adds a line, `Demo http://127.0.0.1:7091 (end a consultation now: …)`"
	demoLine = strings.Join(strings.Fields(demoLine), " ")
	if !strings.Contains(strings.Join(strings.Fields(readme), " "), "`make demo` adds a line, `"+demoLine+"`") {
		t.Errorf("the README does not show -demo's line %q", demoLine)
	}
}

// TestREADME_NamesEveryMakeTarget: the README's list of make targets is the Makefile's.
func TestREADME_NamesEveryMakeTarget(t *testing.T) {
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, m := range regexp.MustCompile(`(?m)^([a-z-]+):.*## `).FindAllStringSubmatch(string(makefile), -1) {
		if m[1] != "help" {
			targets = append(targets, m[1])
		}
	}
	readme := readREADME(t)
	i := strings.Index(readme, "`make help` lists every target (")
	if i < 0 {
		t.Fatal("the README no longer lists the make targets after \"`make help` lists every target (\"")
	}
	list := readme[i+len("`make help` lists every target ("):]
	list = list[:strings.Index(list, ")")]
	var named []string
	for _, m := range regexp.MustCompile("`([a-z-]+)`").FindAllStringSubmatch(list, -1) {
		named = append(named, m[1])
	}
	slices.Sort(targets)
	slices.Sort(named)
	if !slices.Equal(targets, named) {
		t.Errorf("the README lists the make targets %v; the Makefile has %v", named, targets)
	}
}

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

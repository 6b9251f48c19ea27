package obscheck

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"unicode"
)

// RunbookURL is where docs/runbook.md is published; every alert's runbook_url is it
// plus the anchor of the alert's section.
const RunbookURL = "https://github.com/healthcore/healthcore/blob/main/docs/runbook.md"

// RunbookAnchors reads a Markdown file and returns the anchors GitHub gives its
// headings (lower case, spaces as dashes, other punctuation dropped).
func RunbookAnchors(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	fenced := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		out[anchor(strings.TrimSpace(strings.TrimLeft(line, "#")))] = true
	}
	return out, sc.Err()
}

func anchor(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// RunbookLink returns a check that a runbook_url is RunbookURL#anchor with anchor one
// of anchors.
func RunbookLink(anchors map[string]bool) func(string) error {
	return func(url string) error {
		a, ok := strings.CutPrefix(url, RunbookURL+"#")
		if !ok {
			return fmt.Errorf("runbook_url %q is not %s#<section>", url, RunbookURL)
		}
		if !anchors[a] {
			return fmt.Errorf("runbook_url %q: docs/runbook.md has no section #%s", url, a)
		}
		return nil
	}
}

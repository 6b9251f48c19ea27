package identity

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/match"
	"golang.org/x/text/unicode/norm"

	"healthcore/platform/errs"
)

// The password policy (OWASP ASVS 4.0 level 2, V2.1): at least 12 characters, at most
// 128, any characters (spaces and Unicode included, no composition rules), and not
// guessable. A password is guessable when it contains one of the account's login
// names (its e-mail, CPF or CRM number), is only spaces, or zxcvbn (a port of
// Dropbox's estimator, with its lists of the 30,000 most common leaked passwords and
// of common words, names and keyboard walks built in: nothing is fetched at run time)
// estimates that fewer than 10^8 guesses find it (a score under 3: "safely
// unguessable" only below that). The account's name and e-mail count as a guesser's
// first words.
const (
	minPasswordLen = 12
	maxPasswordLen = 128
	// minPasswordScore is zxcvbn's score a password needs (3: at least 10^8 guesses).
	minPasswordScore = 3
	// strengthWindow is how many leading characters zxcvbn scores. Its cost grows
	// faster than the length (up to about 0.3 s for 64 characters built to be slow,
	// over twice that for 128): a password whose first 64 characters are hard to guess
	// is hard to guess.
	strengthWindow = 64
)

// passwordAdvice ends every refusal: what the user can do instead.
const passwordAdvice = "Choose a passphrase of four or more words that do not belong together, " +
	"or a random password from a password manager."

// passwordOwner is what the account is known by, which its password must not give away.
type passwordOwner struct {
	name, email, cpf, crm string
}

// scoringSlots bounds how many passwords are scored at once in the process: scoring
// is CPU only (up to about 0.3 s for 64 characters built to be slow), and
// registration is public, so at most half the cores score, and logins, which wait
// for the hasher's slots, never wait for scoring.
var scoringSlots = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2))

// checkPassword refuses a password the policy does not accept, with
// PASSWORD_TOO_WEAK, the password field and what to change.
func (s *Service) checkPassword(ctx context.Context, password string, o passwordOwner) error {
	select {
	case scoringSlots <- struct{}{}:
	case <-ctx.Done():
		return errs.Internal("identity: wait to check a password", ctx.Err())
	}
	defer func() { <-scoringSlots }()
	return checkPassword(password, o)
}

// checkPassword is the policy; see the constants above.
func checkPassword(password string, o passwordOwner) error {
	n := utf8.RuneCountInString(password)
	switch {
	case n < minPasswordLen:
		return errWeakPassword("has " + strconv.Itoa(n) + " characters; it needs at least " + strconv.Itoa(minPasswordLen))
	case n > maxPasswordLen:
		return errWeakPassword("has more than " + strconv.Itoa(maxPasswordLen) + " characters")
	case strings.TrimFunc(password, unicode.IsSpace) == "":
		return errWeakPassword("is only spaces")
	}
	lower := strings.ToLower(password)
	if what := loginNameIn(lower, o); what != "" {
		return errWeakPassword("contains your " + what + ", which others know")
	}
	window := password
	if n > strengthWindow {
		window = string([]rune(password)[:strengthWindow])
	}
	res := zxcvbn.PasswordStrength(forScoring(window), o.words())
	if res.Score >= minPasswordScore {
		return nil
	}
	return errWeakPassword(weakness(res.Sequence))
}

// loginNameIn names the login name of o that lower (a lower-cased password) contains,
// or "".
func loginNameIn(lower string, o passwordOwner) string {
	email := strings.ToLower(o.email)
	local, _, _ := strings.Cut(email, "@")
	var digits strings.Builder
	for _, c := range lower {
		if c >= '0' && c <= '9' {
			digits.WriteRune(c)
		}
	}
	switch {
	case email != "" && strings.Contains(lower, email):
		return "e-mail address"
	case len(local) >= 4 && strings.Contains(lower, local):
		return "e-mail address's name"
	case o.cpf != "" && strings.Contains(digits.String(), o.cpf):
		return "CPF"
	case len(o.crm) >= 4 && strings.Contains(lower, o.crm):
		return "CRM number"
	}
	return ""
}

// words are o's details as zxcvbn's user inputs: a guesser who knows the account
// tries them first.
func (o passwordOwner) words() []string {
	isSep := func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }
	var w []string
	for _, s := range []string{o.name, o.email, o.cpf, o.crm} {
		s = forScoring(strings.ToLower(s))
		if s == "" {
			continue
		}
		w = append(w, s)
		if parts := strings.FieldsFunc(s, isSep); len(parts) > 1 {
			w = append(w, parts...)
		}
	}
	return w
}

// standIns are the ASCII letters forScoring writes for other characters.
const standIns = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// forScoring spells s in ASCII for zxcvbn, whose port miscounts characters beyond
// ASCII (it scores a long Greek or Cyrillic passphrase as guessable at once): accents
// are dropped (café is scored as cafe, as a guesser would try it), and every other
// character becomes one stand-in letter, the same for the same character and
// neighbours for neighbouring code points, so repeats and sequences in any script
// still count.
func forScoring(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case r < utf8.RuneSelf:
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
		default:
			b.WriteByte(standIns[int(r)%len(standIns)])
		}
	}
	return b.String()
}

// weakness says what made zxcvbn's guess easy: the longest pattern it found.
func weakness(seq []*match.Match) string {
	var worst *match.Match
	for _, m := range seq {
		if m.Pattern != "bruteforce" && (worst == nil || m.J-m.I > worst.J-worst.I) {
			worst = m
		}
	}
	if worst == nil {
		return "is too easy to guess"
	}
	switch worst.Pattern {
	case "repeat":
		return "repeats characters or a short pattern (like aaaa or abcabc)"
	case "sequence":
		return "is built on a sequence (like abcd or 1234)"
	case "spatial":
		return "follows the keyboard (like qwerty or 1qaz2wsx)"
	case "date":
		return "is built around a date"
	case "regex":
		return "is built around a year"
	case "dictionary":
		switch {
		case worst.DictionaryName == "user_inputs":
			return "is built from your name or e-mail"
		case worst.DictionaryName == "passwords":
			return "is, or is built on, one of the most common passwords, which guessers try first"
		default:
			return "is made of a few common words or names"
		}
	}
	return "is too easy to guess"
}

// errWeakPassword refuses a password: why it is weak, and what to do.
func errWeakPassword(why string) error {
	return ReasonPasswordTooWeak.New("the password " + why + ". " + passwordAdvice).
		WithViolations(errs.Violation{Field: "password", Description: why + ". " + passwordAdvice})
}

package payments

import (
	"strings"
	"unicode/utf8"
)

// maxPayerName is the most characters a PIX payer's first or last name may have (the
// pix service's rule, as Mercado Pago's).
const maxPayerName = 100

// payerNames fits a payer's first and last names to what the provider takes, where a
// patient's name may be twice as long. A name that fits is kept whole; a longer last
// name keeps its final word (the family name) and as many words from its start as fit
// before it; a single word longer than the limit is cut at a character.
func payerNames(first, last string) (string, string) {
	return fitName(first), fitName(last)
}

func fitName(name string) string {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) <= maxPayerName {
		return name
	}
	words := strings.Fields(name)
	family := words[len(words)-1]
	room := maxPayerName - utf8.RuneCountInString(family)
	if room <= 1 { // the family name alone fills the limit
		return cutRunes(family, maxPayerName)
	}
	kept := make([]string, 0, len(words))
	used := 0
	for _, w := range words[:len(words)-1] {
		n := utf8.RuneCountInString(w) + 1 // the word and the space after it
		if used+n > room {
			break
		}
		kept, used = append(kept, w), used+n
	}
	return strings.Join(append(kept, family), " ")
}

// cutRunes returns the first n characters of s.
func cutRunes(s string, n int) string {
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i]
}

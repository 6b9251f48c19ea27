package records

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"healthcore/platform/errs"
)

// bidiNames are the bidirectional formatting characters (Unicode's Bidi_Control):
// invisible, they reorder how the text around them is shown.
var bidiNames = map[rune]string{
	0x061C: "ARABIC LETTER MARK",
	0x200E: "LEFT-TO-RIGHT MARK",
	0x200F: "RIGHT-TO-LEFT MARK",
	0x202A: "LEFT-TO-RIGHT EMBEDDING",
	0x202B: "RIGHT-TO-LEFT EMBEDDING",
	0x202C: "POP DIRECTIONAL FORMATTING",
	0x202D: "LEFT-TO-RIGHT OVERRIDE",
	0x202E: "RIGHT-TO-LEFT OVERRIDE",
	0x2066: "LEFT-TO-RIGHT ISOLATE",
	0x2067: "RIGHT-TO-LEFT ISOLATE",
	0x2068: "FIRST STRONG ISOLATE",
	0x2069: "POP DIRECTIONAL ISOLATE",
}

// checkNoBidi refuses s (a title or a name: what says which, field is the request
// field) when it holds a bidirectional control character. Such a character can make a
// document named "exame\u202Efdp.exe" show as "exameexe.pdf" wherever its title is
// displayed or saved as a file name. Right-to-left text itself (Arabic, Hebrew) needs
// none of them, so they are refused rather than dropped: the caller learns what was
// wrong. (File names taken from an upload are stripped of them at the edge instead.)
func checkNoBidi(field, what, s string) error {
	i := strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) })
	if i < 0 {
		return nil
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	char := fmt.Sprintf("U+%04X", r)
	if name := bidiNames[r]; name != "" {
		char += " (" + name + ")"
	}
	return ReasonBidiControl.New(what + " contains " + char + ", an invisible character that changes the order in which text is shown " +
		"(it can disguise a file's type); remove it").
		WithViolations(errs.Violation{Field: field, Description: "must not contain bidirectional control characters (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069); found " + char})
}

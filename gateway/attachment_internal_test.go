package gateway

import (
	"strings"
	"testing"
)

// A download's file name must not carry the invisible characters that reorder or hide
// text: with U+202E, "exame\u202Efdp.exe" is saved as a file that shows as
// "exameexe.pdf" but is named ….exe.pdf, or opened as what it claims.
func TestAttachment_DropsBidiAndInvisibleFormattingCharacters(t *testing.T) {
	for _, c := range []struct{ title, want string }{
		{"exame\u202Efdp.exe", `attachment; filename="examefdp.exe.pdf"; filename*=UTF-8''examefdp.exe.pdf`},
		{"\u2067laudo\u2069 \u200Fcardio\u200E\u061C", `attachment; filename="laudo cardio.pdf"; filename*=UTF-8''laudo%20cardio.pdf`},
		{"raio\u202A-\u202B\u202C\u202Dx", `attachment; filename="raio-x.pdf"; filename*=UTF-8''raio-x.pdf`},
		{"zero\u200Bwidth\uFEFF", `attachment; filename="zerowidth.pdf"; filename*=UTF-8''zerowidth.pdf`},
		{"\u202E", `attachment; filename="document.pdf"; filename*=UTF-8''document.pdf`},
		{"تحليل الدم", `attachment; filename="_____ ____.pdf"; filename*=UTF-8''%D8%AA%D8%AD%D9%84%D9%8A%D9%84%20%D8%A7%D9%84%D8%AF%D9%85.pdf`},
	} {
		got := attachment(c.title, "application/pdf")
		if got != c.want {
			t.Errorf("attachment(%q) = %q, want %q", c.title, got, c.want)
		}
		for _, bad := range []string{"\u202E", "%E2%80%AE", "%E2%80%8B", "%E2%81%A7"} {
			if strings.Contains(got, bad) {
				t.Errorf("attachment(%q) = %q keeps %q", c.title, got, bad)
			}
		}
	}
}

func TestWithoutBidiControls_KeepsTheText(t *testing.T) {
	if got := withoutBidiControls("receita\u202Efdp.exe"); got != "receitafdp.exe" {
		t.Errorf("got %q", got)
	}
	if got := withoutBidiControls("👩\u200d⚕️ בדיקה"); got != "👩\u200d⚕️ בדיקה" {
		t.Errorf("got %q: text and joiners must stay", got)
	}
}

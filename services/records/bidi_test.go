package records

import (
	"context"
	"strings"
	"testing"

	recordsv1 "healthcore/gen/healthcore/records/v1"
	"healthcore/platform/testkit"
)

// bidiControls are the invisible characters that reorder how text is shown: with
// U+202E a title "exame\u202Efdp.exe" reads "exameexe.pdf".
var bidiControls = []rune{0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069}

func TestTitles_RefuseBidiControlCharacters(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	for _, c := range bidiControls {
		_, err := f.upload(alice, meta("exame"+string(c)+"fdp.exe", "application/pdf"), pdf(1000))
		testkit.WantReason(t, err, ReasonBidiControl)
		if v := violationFields(t, err); v != "metadata.title" {
			t.Errorf("U+%04X: violations name %q, want metadata.title", c, v)
		}
	}
	f.wantStored(0, 0)

	doc := f.mustUpload(alice, meta("Hemograma", "application/pdf"), pdf(1000))
	_, err := f.update(alice, &recordsv1.UpdateDocumentRequest{DocumentId: doc.GetId(), Title: "laudo\u202Efdp.exe", UpdateMask: mask("title")})
	testkit.WantReason(t, err, ReasonBidiControl)
	if v := violationFields(t, err); v != "title" {
		t.Errorf("violations name %q, want title", v)
	}
	got, _, err := f.download(alice, doc.GetId())
	if err != nil || got.GetTitle() != "Hemograma" {
		t.Errorf("after a refused update the title is %q (%v), want Hemograma", got.GetTitle(), err)
	}

	// Right-to-left scripts and emoji (joined by U+200D) are text, not controls.
	for _, ok := range []string{"تحليل الدم", "בדיקת דם", "👩\u200d⚕️ consulta"} {
		d, err := f.upload(alice, meta(ok, "application/pdf"), pdf(1000))
		if err != nil || d.GetTitle() != ok {
			t.Errorf("%q: stored %q, %v", ok, d.GetTitle(), err)
		}
	}
}

func TestGroupNames_RefuseBidiControlCharacters(t *testing.T) {
	f := newFixture(t)
	alice := f.newPatient()
	_, err := f.createGroup(alice, "Exames\u2067 2024")
	testkit.WantReason(t, err, ReasonBidiControl)
	if v := violationFields(t, err); v != "name" {
		t.Errorf("violations name %q, want name", v)
	}
	g := f.mustGroup(alice, "Exames")
	_, err = f.client.RenameGroup(context.Background(), authed(&recordsv1.RenameGroupRequest{GroupId: g.GetId(), Name: "\u202EsemaxE"}, alice.token))
	testkit.WantReason(t, err, ReasonBidiControl)
	if n := f.count(`SELECT count(*) FROM groups WHERE name <> 'Exames'`); n != 0 {
		t.Errorf("%d groups with another name stored", n)
	}
}

func TestBidiControl_NamesTheCharacter(t *testing.T) {
	err := checkNoBidi("metadata.title", "the title", "a\u202Eb")
	if err == nil || !strings.Contains(err.Error(), "U+202E") || !strings.Contains(err.Error(), "RIGHT-TO-LEFT OVERRIDE") {
		t.Errorf("error %v does not name U+202E", err)
	}
	if err := checkNoBidi("title", "the title", "Raio-X do tórax"); err != nil {
		t.Errorf("plain title refused: %v", err)
	}
}

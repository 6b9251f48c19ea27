package records

import (
	"flag"
	"slices"
	"strings"
	"testing"

	"healthcore/platform/config"
)

func TestConfig_FlagsSetLimitAndTypesAndCheckRefusesUndetectableTypes(t *testing.T) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"-records.max-upload-bytes=1048576", "-records.content-types=application/pdf, Image/PNG"}); err != nil {
		t.Fatal(err)
	}
	if cfg.MaxUploadBytes != 1<<20 || !slices.Equal(cfg.ContentTypes, []string{"application/pdf", "image/png"}) {
		t.Errorf("config = %+v", cfg)
	}
	var p config.Problems
	cfg.Check(&p)
	if p.Err() != nil {
		t.Errorf("valid config refused: %v", p.Err())
	}

	bad := Config{MaxUploadBytes: 10, ContentTypes: []string{"application/msword"}}
	var q config.Problems
	bad.Check(&q)
	if err := q.Err(); err == nil || !strings.Contains(err.Error(), "records.max-upload-bytes=10") || !strings.Contains(err.Error(), "application/msword") {
		t.Errorf("problems = %v", err)
	}
	if _, err := New(Deps{}, DefaultConfig()); err == nil {
		t.Error("New without dependencies succeeded")
	}
}

func TestDetectContentType_RecognisesEveryDefaultTypeByItsBytes(t *testing.T) {
	cases := map[string][]byte{
		"application/pdf":   pdf(600),
		"image/png":         png(600),
		"image/jpeg":        jpeg(600),
		"image/webp":        []byte("RIFF\x00\x00\x00\x00WEBPVP8 " + strings.Repeat("\x00", 100)),
		"application/dicom": dicom(600),
		"text/plain":        []byte("resultado: normal"),
	}
	for want, head := range cases {
		if got := detectContentType(head); got != want {
			t.Errorf("detect(%q…) = %q, want %q", head[:8], got, want)
		}
	}
	for _, typ := range DefaultContentTypes {
		if _, ok := cases[typ]; !ok {
			t.Errorf("default type %s has no detection case", typ)
		}
	}
}

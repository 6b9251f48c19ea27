package pixsandbox

import (
	"bytes"
	"image/png"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

func TestQR_ReedSolomonMatchesTheStandardsExample(t *testing.T) {
	// ISO/IEC 18004 annex I: "01234567" in version 1-M; its 16 data codewords and the
	// 10 error correction codewords the standard lists.
	data := []byte{0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11}
	want := []byte{0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55}
	if got := rsRemainder(data, rsDivisor(10)); !bytes.Equal(got, want) {
		t.Errorf("error correction = % X, want % X", got, want)
	}
}

func TestQR_PicksTheSmallestVersionAndDrawsFunctionPatterns(t *testing.T) {
	for _, tc := range []struct {
		n, version int
	}{{1, 1}, {14, 1}, {15, 2}, {152, 8}, {153, 9}, {213, 10}, {214, 11}} {
		q, err := encodeQR(bytes.Repeat([]byte("a"), tc.n))
		if err != nil {
			t.Fatalf("%d bytes: %v", tc.n, err)
		}
		if q.version != tc.version || q.size != 4*tc.version+17 {
			t.Errorf("%d bytes: version %d size %d, want version %d", tc.n, q.version, q.size, tc.version)
		}
		// Finder pattern corners: dark ring, light ring, dark 3×3 centre.
		for _, c := range [][2]int{{3, 3}, {q.size - 4, 3}, {3, q.size - 4}} {
			x, y := c[0], c[1]
			if !q.dark[y][x] || !q.dark[y-3][x-3] || q.dark[y-2][x-2] || !q.dark[y-1][x-1] {
				t.Errorf("%d bytes: finder pattern at (%d,%d) malformed", tc.n, x, y)
			}
		}
		if !q.dark[q.size-8][8] {
			t.Errorf("%d bytes: dark module missing", tc.n)
		}
		// The two copies of the format information agree.
		var a, b int
		for i := range 8 {
			if q.dark[8][q.size-1-i] {
				b |= 1 << i
			}
		}
		for i := range 6 {
			if q.dark[i][8] {
				a |= 1 << i
			}
		}
		if a&0x3F != b&0x3F {
			t.Errorf("%d bytes: format copies differ: %06b vs %06b", tc.n, a&0x3F, b&0x3F)
		}
	}
}

func TestQR_PNGIsARealImageWithAQuietZone(t *testing.T) {
	for _, tc := range []struct {
		data  string
		scale int
	}{
		{brCode(pixKey, 1999, merchant, city, "HCSBX1320000001"), 4},
		{brCode(pixKey, 25000, merchant, city, "HCSBX7"), 6},     // the sandbox's scale
		{brCode(pixKey, 1, merchant, city, "HCSBX987654321"), 3}, // rows not a multiple of 8 pixels
	} {
		q, err := encodeQR([]byte(tc.data))
		if err != nil {
			t.Fatal(err)
		}
		b, err := q.PNG(tc.scale)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("not a PNG: %v", err)
		}
		n := (q.size + 8) * tc.scale
		if img.Bounds().Dx() != n || img.Bounds().Dy() != n {
			t.Fatalf("image %v, want %d×%d", img.Bounds(), n, n)
		}
		// Every pixel is its module's colour, light in the four-module quiet zone.
		bad := 0
		for y := range n {
			for x := range n {
				r, _, _, _ := img.At(x, y).RGBA()
				mx, my := x/tc.scale-4, y/tc.scale-4
				want := mx >= 0 && my >= 0 && mx < q.size && my < q.size && q.dark[my][mx]
				if (r < 0x8000) != want {
					bad++
				}
			}
		}
		if bad > 0 {
			t.Errorf("scale %d: %d of %d pixels differ from their module", tc.scale, bad, n*n)
		}
		// And an independent reader (ZXing's) scans it back to the copy-and-paste string.
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		got, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
		if err != nil {
			t.Fatalf("scale %d: the QR reader cannot read it: %v", tc.scale, err)
		}
		if got.GetText() != tc.data {
			t.Errorf("scanned %q, want %q", got.GetText(), tc.data)
		}
	}
}

func TestQR_PackedPenaltyScoresAsTheStandardsRulesModuleByModule(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for version := 1; version <= 40; version++ {
		size := 4*version + 17
		q := &qrCode{version: version, size: size, dark: qrGrid(size), fixed: qrGrid(size)}
		for trial := range 6 {
			for y := range size {
				for x := range size {
					switch trial {
					case 0: // all light
					case 1:
						q.dark[y][x] = true
					case 2: // long runs and blocks
						q.dark[y][x] = rng.IntN(8) != 0
					default:
						q.dark[y][x] = rng.IntN(2) == 0
					}
				}
			}
			if trial == 3 { // finder-like patterns at the edges and in the middle, rows and columns
				for _, at := range []int{0, 1, 3, 4, size/2 - 3, size - 7} {
					for i, c := range []bool{true, false, true, true, true, false, true} {
						q.dark[size/3][at+i], q.dark[at+i][size/4] = c, c
					}
				}
			}
			if got, want := q.penalty(), modulePenalty(q); got != want {
				t.Errorf("version %d, grid %d: penalty %d, want %d", version, trial, got, want)
			}
		}
	}
	// And the masks of a real code.
	q, err := encodeQR([]byte(brCode(pixKey, 25000, merchant, city, "HCSBX7")))
	if err != nil {
		t.Fatal(err)
	}
	for mask := range 8 {
		q.applyMask(mask)
		q.drawFormatBits(mask)
		if got, want := q.penalty(), modulePenalty(q); got != want {
			t.Errorf("mask %d: penalty %d, want %d", mask, got, want)
		}
		q.applyMask(mask)
	}
}

// modulePenalty is the standard's four rules read module by module: the reference
// the packed penalty must match.
func modulePenalty(q *qrCode) int {
	p, darkCount := 0, 0
	column := make([]bool, q.size)
	for y := range q.size {
		p += moduleLinePenalty(q.dark[y])
		for x := range q.size {
			column[x] = q.dark[x][y]
		}
		p += moduleLinePenalty(column)
	}
	for y := range q.size {
		for x := range q.size {
			c := q.dark[y][x]
			if c {
				darkCount++
			}
			if x > 0 && y > 0 && c == q.dark[y-1][x] && c == q.dark[y][x-1] && c == q.dark[y-1][x-1] {
				p += 3
			}
		}
	}
	total := q.size * q.size
	k := (abs(darkCount*20-total*10) + total - 1) / total
	return p + max(k-1, 0)*10
}

func moduleLinePenalty(line []bool) int {
	light := func(from, to int) bool {
		for x := max(from, 0); x < min(to, len(line)); x++ {
			if line[x] {
				return false
			}
		}
		return true
	}
	p, run := 0, 0
	for x, c := range line {
		if x > 0 && c == line[x-1] {
			run++
		} else {
			if run >= 5 {
				p += run - 2
			}
			run = 1
		}
		if x+7 <= len(line) && c && !line[x+1] && line[x+2] && line[x+3] && line[x+4] && !line[x+5] && line[x+6] &&
			(light(x-4, x) || light(x+7, x+11)) {
			p += 40
		}
	}
	if run >= 5 {
		p += run - 2
	}
	return p
}

package pixsandbox

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math/bits"
	"sync"
)

// A minimal QR Code encoder (ISO/IEC 18004): byte mode, error correction level M,
// versions 1–40, the mask with the lowest penalty. No QR library is in the module
// graph and the sandbox needs a real, scannable image for qr_code_base64; the
// construction follows the standard's steps in the order of Project Nayuki's
// reference implementation.

// Per version (index 1–40), for level M: error correction codewords per block, and
// number of blocks.
var (
	qrECCPerBlock = [41]int{-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
		26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28}
	qrBlocks = [41]int{-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
		17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49}
)

const qrFormatLevelM = 0 // level M's two format bits

type qrCode struct {
	version int
	size    int
	dark    [][]bool
	fixed   [][]bool // function patterns, which masks leave alone
}

// encodeQR returns the QR Code of data at level M, in the smallest version that holds it.
func encodeQR(data []byte) (*qrCode, error) {
	version := 0
	for v := 1; v <= 40; v++ {
		if 4+qrCountBits(v)+8*len(data) <= 8*qrDataCodewords(v) {
			version = v
			break
		}
	}
	if version == 0 {
		return nil, errors.New("qr: data too long")
	}
	// Segment: mode 0100 (byte), character count, the bytes; then terminator and padding.
	var bits qrBits
	bits.append(0b0100, 4)
	bits.append(len(data), qrCountBits(version))
	for _, b := range data {
		bits.append(int(b), 8)
	}
	capacity := 8 * qrDataCodewords(version)
	bits.append(0, min(4, capacity-len(bits)))
	bits.append(0, (8-len(bits)%8)%8)
	for pad := 0xEC; len(bits) < capacity; pad ^= 0xEC ^ 0x11 {
		bits.append(pad, 8)
	}
	codewords := make([]byte, len(bits)/8)
	for i, bit := range bits {
		codewords[i>>3] |= byte(bit) << (7 - i&7)
	}

	q := &qrCode{version: version, size: 4*version + 17}
	q.dark, q.fixed = qrGrid(q.size), qrGrid(q.size)
	q.drawFunctionPatterns()
	q.drawCodewords(q.addECCAndInterleave(codewords))
	best, bestPenalty := 0, -1
	for mask := range 8 {
		q.applyMask(mask)
		q.drawFormatBits(mask)
		if p := q.penalty(); bestPenalty < 0 || p < bestPenalty {
			best, bestPenalty = mask, p
		}
		q.applyMask(mask) // XOR again: undone
	}
	q.applyMask(best)
	q.drawFormatBits(best)
	return q, nil
}

// PNG draws the code with a four-module quiet zone, scale pixels per module, as a
// 1-bit grayscale PNG (ISO/IEC 15948: IHDR, one IDAT, IEND). The sandbox draws one
// per charge, so it writes the scanlines itself rather than through image/png: each
// row of modules is packed into bits once and repeated scale times, with no per-pixel
// interface call, and the zlib writer (about a megabyte of deflate state) is reused.
func (q *qrCode) PNG(scale int) ([]byte, error) {
	n := (q.size + 8) * scale
	stride := 1 + (n+7)/8 // the filter type byte (0: None), then the pixels, 1 = white
	light := bytes.Repeat([]byte{0xFF}, stride)
	light[0] = 0
	row := make([]byte, stride)
	z := pngZlib.Get().(*zlibBuffer)
	defer pngZlib.Put(z)
	z.buf.Reset()
	z.w.Reset(&z.buf)
	for range 4 * scale { // the quiet zone above
		z.w.Write(light)
	}
	for y := range q.size {
		copy(row, light)
		for x := range q.size {
			if q.dark[y][x] {
				for px := (x + 4) * scale; px < (x+5)*scale; px++ {
					row[1+px>>3] &^= 0x80 >> (px & 7)
				}
			}
		}
		for range scale {
			z.w.Write(row)
		}
	}
	for range 4 * scale { // and below
		z.w.Write(light)
	}
	if err := z.w.Close(); err != nil {
		return nil, err
	}
	out := make([]byte, 0, 8+25+12+z.buf.Len()+12)
	out = append(out, "\x89PNG\r\n\x1a\n"...)
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(n))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(n))
	ihdr[8] = 1 // bit depth; colour type 0 (grayscale), deflate, filter method 0, no interlace
	out = pngChunk(out, "IHDR", ihdr[:])
	out = pngChunk(out, "IDAT", z.buf.Bytes())
	return pngChunk(out, "IEND", nil), nil
}

// zlibBuffer is a reusable zlib writer at its fastest level (a two-colour image
// compresses well anyway) with the buffer it writes to.
type zlibBuffer struct {
	buf bytes.Buffer
	w   *zlib.Writer
}

var pngZlib = sync.Pool{New: func() any {
	z := &zlibBuffer{}
	z.w, _ = zlib.NewWriterLevel(&z.buf, zlib.BestSpeed) // a valid level: no error
	return z
}}

// pngChunk appends a PNG chunk: length, type, data, and the CRC of type and data.
func pngChunk(out []byte, typ string, data []byte) []byte {
	out = binary.BigEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, typ...)
	out = append(out, data...)
	crc := crc32.Update(crc32.ChecksumIEEE([]byte(typ)), crc32.IEEETable, data)
	return binary.BigEndian.AppendUint32(out, crc)
}

type qrBits []byte

func (b *qrBits) append(v, n int) {
	for i := n - 1; i >= 0; i-- {
		*b = append(*b, byte(v>>i&1))
	}
}

func qrGrid(n int) [][]bool {
	g := make([][]bool, n)
	for i := range g {
		g[i] = make([]bool, n)
	}
	return g
}

func qrCountBits(version int) int {
	if version <= 9 {
		return 8
	}
	return 16
}

// qrRawModules is the number of modules left for data and error correction.
func qrRawModules(version int) int {
	n := (16*version+128)*version + 64
	if version >= 2 {
		align := version/7 + 2
		n -= (25*align-10)*align - 55
		if version >= 7 {
			n -= 36
		}
	}
	return n
}

func qrDataCodewords(version int) int {
	return qrRawModules(version)/8 - qrECCPerBlock[version]*qrBlocks[version]
}

func (q *qrCode) set(x, y int, dark bool) {
	q.dark[y][x] = dark
	q.fixed[y][x] = true
}

func (q *qrCode) drawFunctionPatterns() {
	for i := range q.size { // timing patterns
		q.set(6, i, i%2 == 0)
		q.set(i, 6, i%2 == 0)
	}
	q.drawFinder(3, 3)
	q.drawFinder(q.size-4, 3)
	q.drawFinder(3, q.size-4)
	pos := q.alignmentPositions()
	for i := range pos {
		for j := range pos {
			last := len(pos) - 1
			if i == 0 && j == 0 || i == 0 && j == last || i == last && j == 0 {
				continue // the finder patterns' corners
			}
			for dy := -2; dy <= 2; dy++ {
				for dx := -2; dx <= 2; dx++ {
					q.set(pos[i]+dx, pos[j]+dy, max(abs(dx), abs(dy)) != 1)
				}
			}
		}
	}
	q.drawFormatBits(0) // reserves the area; drawn again with the chosen mask
	if q.version >= 7 {
		rem := q.version
		for range 12 {
			rem = rem<<1 ^ (rem>>11)*0x1F25
		}
		bits := q.version<<12 | rem
		for i := range 18 {
			dark := bits>>i&1 != 0
			a, b := q.size-11+i%3, i/3
			q.set(a, b, dark)
			q.set(b, a, dark)
		}
	}
}

func (q *qrCode) drawFinder(cx, cy int) {
	for dy := -4; dy <= 4; dy++ {
		for dx := -4; dx <= 4; dx++ {
			x, y := cx+dx, cy+dy
			if x >= 0 && x < q.size && y >= 0 && y < q.size {
				d := max(abs(dx), abs(dy))
				q.set(x, y, d != 2 && d != 4)
			}
		}
	}
}

func (q *qrCode) alignmentPositions() []int {
	if q.version == 1 {
		return nil
	}
	n := q.version/7 + 2
	step := (q.version*4 + n*2 + 1) / (n*2 - 2) * 2
	if q.version == 32 {
		step = 26
	}
	pos := make([]int, n)
	pos[0] = 6
	for i, p := n-1, q.size-7; i >= 1; i, p = i-1, p-step {
		pos[i] = p
	}
	return pos
}

func (q *qrCode) drawFormatBits(mask int) {
	data := qrFormatLevelM<<3 | mask
	rem := data
	for range 10 {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	bits := (data<<10 | rem) ^ 0x5412
	bit := func(i int) bool { return bits>>i&1 != 0 }
	for i := range 6 {
		q.set(8, i, bit(i))
	}
	q.set(8, 7, bit(6))
	q.set(8, 8, bit(7))
	q.set(7, 8, bit(8))
	for i := 9; i < 15; i++ {
		q.set(14-i, 8, bit(i))
	}
	for i := range 8 {
		q.set(q.size-1-i, 8, bit(i))
	}
	for i := 8; i < 15; i++ {
		q.set(8, q.size-15+i, bit(i))
	}
	q.set(8, q.size-8, true) // the dark module
}

// addECCAndInterleave splits data into blocks, appends each block's Reed-Solomon
// codewords, and interleaves them column by column.
func (q *qrCode) addECCAndInterleave(data []byte) []byte {
	blocks, eccLen := qrBlocks[q.version], qrECCPerBlock[q.version]
	raw := qrRawModules(q.version) / 8
	short := blocks - raw%blocks
	shortLen := raw / blocks
	divisor := rsDivisor(eccLen)
	var all [][]byte
	for i, k := 0, 0; i < blocks; i++ {
		n := shortLen - eccLen
		if i >= short {
			n++
		}
		dat := data[k : k+n]
		k += n
		block := append([]byte{}, dat...)
		if i < short {
			block = append(block, 0) // placeholder so all blocks line up; skipped below
		}
		all = append(all, append(block, rsRemainder(dat, divisor)...))
	}
	out := make([]byte, 0, raw)
	for i := range all[0] {
		for j, b := range all {
			if i != shortLen-eccLen || j >= short {
				out = append(out, b[i])
			}
		}
	}
	return out
}

// drawCodewords places the bits in the zigzag of two-module columns, right to left.
func (q *qrCode) drawCodewords(data []byte) {
	i := 0
	for right := q.size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5 // skip the vertical timing pattern
		}
		for vert := range q.size {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = q.size - 1 - vert // upward
				}
				if !q.fixed[y][x] && i < len(data)*8 {
					q.dark[y][x] = data[i>>3]>>(7-i&7)&1 != 0
					i++
				}
			}
		}
	}
}

// applyMask inverts the data modules the mask selects (applied twice, it undoes itself).
func (q *qrCode) applyMask(mask int) {
	for y := range q.size {
		invert, row, fixed := &qrMasks[mask][y%12], q.dark[y], q.fixed[y]
		for x, xm := 0, 0; x < q.size; x, xm = x+1, xm+1 {
			if xm == 12 {
				xm = 0
			}
			if invert[xm] && !fixed[x] {
				row[x] = !row[x]
			}
		}
	}
}

// qrMasks holds each mask's pattern over 12×12 modules ([y][x]), a period of all eight,
// so that applying one reads a table rather than computing a condition per module.
var qrMasks = func() (m [8][12][12]bool) {
	for y := range 12 {
		for x := range 12 {
			m[0][y][x] = (x+y)%2 == 0
			m[1][y][x] = y%2 == 0
			m[2][y][x] = x%3 == 0
			m[3][y][x] = (x+y)%3 == 0
			m[4][y][x] = (x/3+y/2)%2 == 0
			m[5][y][x] = x*y%2+x*y%3 == 0
			m[6][y][x] = (x*y%2+x*y%3)%2 == 0
			m[7][y][x] = ((x+y)%2+x*y%3)%2 == 0
		}
	}
	return m
}()

// penalty scores a masked symbol by the standard's four rules: runs of one colour,
// 2×2 blocks, finder-like patterns, and the balance of dark and light. It runs for
// each of the eight masks of every charge's code, so it packs the rows and the columns
// into bits once and scores 64 modules a word operation (qrLine).
func (q *qrCode) penalty() int {
	var rows, cols [177]qrLine // the largest symbol, version 40
	for y, row := range q.dark {
		for x, c := range row {
			if c {
				rows[y][x>>6] |= 1 << (x & 63)
				cols[x][y>>6] |= 1 << (y & 63)
			}
		}
	}
	var valid, valid2 qrLine // the modules of a line, and those with a right neighbour
	for x := range q.size {
		valid[x>>6] |= 1 << (x & 63)
		if x+1 < q.size {
			valid2[x>>6] |= 1 << (x & 63)
		}
	}
	p, dark := 0, 0
	for i := range q.size {
		p += rows[i].penalty(valid) + cols[i].penalty(valid)
		for _, w := range rows[i] {
			dark += bits.OnesCount64(w)
		}
		if i > 0 { // 2×2 blocks of one colour with their top-left corner on row i-1
			a, b := rows[i-1], rows[i]
			an, bn := a.shr(1), b.shr(1)
			for k := range a {
				p += 3 * bits.OnesCount64(^(a[k]^b[k])&^(a[k]^an[k])&^(b[k]^bn[k])&valid2[k])
			}
		}
	}
	total := q.size * q.size
	k := (abs(dark*20-total*10) + total - 1) / total // ceil(|dark% − 50%| / 5%)
	return p + max(k-1, 0)*10
}

// qrLine is a row or a column of a symbol, bit x of word x/64 set for a dark module x.
type qrLine [3]uint64

// shr is l moved down by n < 64 modules: bit x of the result is module x+n (light past
// the end).
func (l qrLine) shr(n uint) qrLine {
	return qrLine{l[0]>>n | l[1]<<(64-n), l[1]>>n | l[2]<<(64-n), l[2] >> n}
}

// shl is l moved up by n < 64 modules: bit x is module x-n (light before the start).
func (l qrLine) shl(n uint) qrLine {
	return qrLine{l[0] << n, l[1]<<n | l[0]>>(64-n), l[2]<<n | l[1]>>(64-n)}
}

// penalty scores one row or column of the modules valid marks: runs of five or more
// modules of one colour (run − 2 each), and the finder-like pattern 1:1:3:1:1 with four
// light modules on either side (positions outside the symbol count as light: the quiet
// zone), 40 each.
func (l qrLine) penalty(valid qrLine) int {
	light := qrLine{^l[0] & valid[0], ^l[1] & valid[1], ^l[2] & valid[2]}
	p := runPenalty(l) + runPenalty(light)
	r1, r2, r3, r4, r5, r6 := l.shr(1), l.shr(2), l.shr(3), l.shr(4), l.shr(5), l.shr(6)
	r7, r8, r9, r10 := l.shr(7), l.shr(8), l.shr(9), l.shr(10)
	b1, b2, b3, b4 := l.shl(1), l.shl(2), l.shl(3), l.shl(4)
	for k := range l {
		finder := l[k] &^ r1[k] & r2[k] & r3[k] & r4[k] &^ r5[k] & r6[k] // dark at x, x+2..x+4, x+6; light at x+1, x+5
		before := ^(b1[k] | b2[k] | b3[k] | b4[k])                       // x-4..x-1 light
		after := ^(r7[k] | r8[k] | r9[k] | r10[k])                       // x+7..x+10 light
		p += 40 * bits.OnesCount64(finder&(before|after))
	}
	return p
}

// runPenalty scores the runs of five or more set bits of l: run − 2 each, that is one
// for each of its L−4 windows of five, and two more at its start.
func runPenalty(l qrLine) int {
	r1, r2, r3, r4, b1 := l.shr(1), l.shr(2), l.shr(3), l.shr(4), l.shl(1)
	p := 0
	for k := range l {
		five := l[k] & r1[k] & r2[k] & r3[k] & r4[k]
		p += bits.OnesCount64(five) + 2*bits.OnesCount64(five&^b1[k])
	}
	return p
}

// rsDivisor returns the Reed-Solomon generator polynomial of the given degree over
// GF(2^8/0x11D), highest coefficient first, its leading 1 left out.
func rsDivisor(degree int) []byte {
	result := make([]byte, degree)
	result[degree-1] = 1
	root := byte(1)
	for range degree {
		for j := range result {
			result[j] = gfMul(result[j], root)
			if j+1 < len(result) {
				result[j] ^= result[j+1]
			}
		}
		root = gfMul(root, 0x02)
	}
	return result
}

func rsRemainder(data, divisor []byte) []byte {
	result := make([]byte, len(divisor))
	for _, b := range data {
		factor := b ^ result[0]
		copy(result, result[1:])
		result[len(result)-1] = 0
		for i, d := range divisor {
			result[i] ^= gfMul(d, factor)
		}
	}
	return result
}

// gfExp and gfLog are the powers of 2 in GF(2^8/0x11D) and their logarithms, so a
// product is one addition of logarithms (the error correction of every charge's code).
var gfExp, gfLog = func() (exp [510]byte, log [256]byte) {
	x := 1
	for i := range 255 {
		exp[i], exp[i+255] = byte(x), byte(x)
		log[x] = byte(i)
		x <<= 1
		if x&0x100 != 0 {
			x ^= 0x11D
		}
	}
	return exp, log
}()

func gfMul(x, y byte) byte {
	if x == 0 || y == 0 {
		return 0
	}
	return gfExp[int(gfLog[x])+int(gfLog[y])]
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

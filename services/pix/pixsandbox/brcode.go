package pixsandbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// brCode returns a PIX copy-and-paste code: a BR Code, the Banco Central do Brasil's
// profile of the EMV QR Code merchant-presented payload, as Mercado Pago's qr_code
// carries it. Each field is ID (2 digits), length (2 digits), value; the last, 63, is
// the CRC16-CCITT of everything before it, its own ID and length included.
func brCode(pixKey string, amountCents int64, merchantName, city, txid string) string {
	var b strings.Builder
	b.WriteString(emvField("00", "01"))                                                    // payload format indicator
	b.WriteString(emvField("01", "12"))                                                    // point of initiation: single use
	b.WriteString(emvField("26", emvField("00", "br.gov.bcb.pix")+emvField("01", pixKey))) // merchant account: PIX key
	b.WriteString(emvField("52", "0000"))                                                  // merchant category code
	b.WriteString(emvField("53", "986"))                                                   // currency: BRL (ISO 4217)
	b.WriteString(emvField("54", fmt.Sprintf("%d.%02d", amountCents/100, amountCents%100)))
	b.WriteString(emvField("58", "BR"))
	b.WriteString(emvField("59", truncate(merchantName, 25)))
	b.WriteString(emvField("60", truncate(city, 15)))
	b.WriteString(emvField("62", emvField("05", truncate(txid, 25)))) // additional data: txid
	b.WriteString("6304")
	return b.String() + fmt.Sprintf("%04X", crc16CCITT([]byte(b.String())))
}

func emvField(id, value string) string {
	return id + fmt.Sprintf("%02d", len(value)) + value
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// crc16CCITT is CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no
// reflection, no final XOR — the checksum the BR Code specification names.
func crc16CCITT(data []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range data {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// ParseBRCode reads a BR Code's top-level fields by ID, checking its structure and
// that it ends with the CRC of everything before it: what a payer's banking app
// checks before it shows the payment. Tests use it on the codes charges carry.
func ParseBRCode(s string) (map[string]string, error) {
	fields := map[string]string{}
	for i := 0; i < len(s); {
		if i+4 > len(s) {
			return nil, fmt.Errorf("truncated field at %d", i)
		}
		id := s[i : i+2]
		n, err := strconv.Atoi(s[i+2 : i+4])
		if err != nil || i+4+n > len(s) {
			return nil, fmt.Errorf("bad length of field %s at %d", id, i)
		}
		fields[id] = s[i+4 : i+4+n]
		if id == "63" {
			if want := fmt.Sprintf("%04X", crc16CCITT([]byte(s[:i+4]))); fields[id] != want || i+8 != len(s) {
				return nil, fmt.Errorf("CRC %s, want %s at the end", fields[id], want)
			}
		}
		i += 4 + n
	}
	if fields["00"] != "01" || fields["63"] == "" {
		return nil, errors.New("no payload format indicator or CRC")
	}
	return fields, nil
}

package pix

import (
	"fmt"
	"strconv"
	"testing"
)

func TestCRC16CCITT_MatchesTheStandardCheckValue(t *testing.T) {
	if got := crc16CCITT([]byte("123456789")); got != 0x29B1 {
		t.Errorf("crc16CCITT(123456789) = %04X, want 29B1 (CRC-16/CCITT-FALSE check value)", got)
	}
}

func TestBRCode_CentralBankExampleChecksums(t *testing.T) {
	// The static example of the Banco Central do Brasil's BR Code manual.
	const example = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000" +
		"5204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D"
	if _, err := checkBRCode(example); err != nil {
		t.Fatalf("the manual's example fails the check: %v", err)
	}
}

func TestBRCode_HasThePIXFieldsAndAValidCRC(t *testing.T) {
	code := brCode(sandboxPixKey, 1999, "HEALTHCORE SANDBOX", "SAO PAULO", "HCSBX1320000001")
	f, err := checkBRCode(code)
	if err != nil {
		t.Fatalf("brCode = %q: %v", code, err)
	}
	want := map[string]string{
		"00": "01", "01": "12", "26": "0014br.gov.bcb.pix01" + strconv.Itoa(len(sandboxPixKey)) + sandboxPixKey,
		"52": "0000", "53": "986", "54": "19.99", "58": "BR", "59": "HEALTHCORE SANDBOX", "60": "SAO PAULO",
		"62": "0515HCSBX1320000001",
	}
	for id, v := range want {
		if f[id] != v {
			t.Errorf("field %s = %q, want %q", id, f[id], v)
		}
	}
}

// checkBRCode verifies a BR Code's structure and CRC; tests use it.
func checkBRCode(s string) (map[string]string, error) {
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
		return nil, fmt.Errorf("no payload format indicator or CRC")
	}
	return fields, nil
}

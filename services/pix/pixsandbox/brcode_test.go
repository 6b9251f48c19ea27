package pixsandbox

import (
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
	if _, err := ParseBRCode(example); err != nil {
		t.Fatalf("the manual's example fails the check: %v", err)
	}
}

func TestBRCode_HasThePIXFieldsAndAValidCRC(t *testing.T) {
	code := brCode(pixKey, 1999, "HEALTHCORE SANDBOX", "SAO PAULO", "HCSBX1320000001")
	f, err := ParseBRCode(code)
	if err != nil {
		t.Fatalf("brCode = %q: %v", code, err)
	}
	want := map[string]string{
		"00": "01", "01": "12", "26": "0014br.gov.bcb.pix01" + strconv.Itoa(len(pixKey)) + pixKey,
		"52": "0000", "53": "986", "54": "19.99", "58": "BR", "59": "HEALTHCORE SANDBOX", "60": "SAO PAULO",
		"62": "0515HCSBX1320000001",
	}
	for id, v := range want {
		if f[id] != v {
			t.Errorf("field %s = %q, want %q", id, f[id], v)
		}
	}
}

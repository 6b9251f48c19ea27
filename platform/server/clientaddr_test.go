package server

import (
	"net/netip"
	"testing"
)

func TestAddrBlock_AnIPv4AddressOrTheIPv6Slash64(t *testing.T) {
	for addr, want := range map[string]string{
		"203.0.113.7":             "203.0.113.7",
		"2001:db8:1:2:aaaa::1":    "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:1:2:3": "2001:db8:1:2::/64", // the same client, another address
		"2001:db8:1:3::1":         "2001:db8:1:3::/64",
		"not an address":          "not an address",
	} {
		if got := AddrBlock(addr); got != want {
			t.Errorf("AddrBlock(%q) = %q, want %q", addr, got, want)
		}
	}
}

func TestClientAddr_BelievesForwardedHopsOnlyFromTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("fd00::/8"),
	}
	tests := []struct {
		name      string
		peer      string
		forwarded string
		want      string
	}{
		{"no header: the peer", "203.0.113.9:5000", "", "203.0.113.9"},
		{"untrusted peer: its header is ignored", "203.0.113.9:5000", "198.51.100.7", "203.0.113.9"},
		{"untrusted peer cannot claim a trusted hop", "203.0.113.9:5000", "10.1.1.1", "203.0.113.9"},
		{"trusted peer: the hop it saw", "10.0.0.2:443", "198.51.100.7", "198.51.100.7"},
		{"trusted peer: the nearest untrusted hop from the right", "10.0.0.2:443", "192.0.2.66, 198.51.100.7, 10.0.0.5", "198.51.100.7"},
		{"spaces around hops are ignored", "10.0.0.2:443", "  198.51.100.7 ,10.0.0.5 ", "198.51.100.7"},
		{"every hop trusted: the leftmost", "10.0.0.2:443", "10.9.9.9, 10.0.0.5", "10.9.9.9"},
		{"malformed hop nearest to us: the peer", "10.0.0.2:443", "198.51.100.7, not-an-ip", "10.0.0.2"},
		{"empty hop: the peer", "10.0.0.2:443", "198.51.100.7,,10.0.0.5", "10.0.0.2"},
		{"hop with a port is malformed: the peer", "10.0.0.2:443", "198.51.100.7:1234", "10.0.0.2"},
		{"malformed hop beyond the first untrusted one does not matter", "10.0.0.2:443", "junk, 198.51.100.7", "198.51.100.7"},
		{"blank header from a trusted peer: the peer", "10.0.0.2:443", "   ", "10.0.0.2"},
		{"peer without a port", "10.0.0.2", "198.51.100.7", "198.51.100.7"},
		{"IPv6 trusted peer", "[fd00::1]:443", "2001:db8::7", "2001:db8::7"},
		{"IPv6 untrusted peer", "[2001:db8::9]:443", "198.51.100.7", "2001:db8::9"},
		{"IPv6 hop canonicalised", "[fd00::1]:443", "2001:DB8:0:0::7", "2001:db8::7"},
		{"IPv4-mapped trusted peer is trusted", "[::ffff:10.0.0.2]:443", "198.51.100.7", "198.51.100.7"},
		{"IPv4-mapped untrusted peer reported as IPv4", "[::ffff:203.0.113.9]:443", "198.51.100.7", "203.0.113.9"},
		{"IPv4-mapped trusted hop is skipped", "10.0.0.2:443", "198.51.100.7, ::ffff:10.0.0.5", "198.51.100.7"},
		{"IPv4-mapped client hop reported as IPv4", "10.0.0.2:443", "::ffff:198.51.100.7", "198.51.100.7"},
		{"unparseable peer is returned as is", "@", "198.51.100.7", "@"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := clientAddr(tt.peer, tt.forwarded, trusted); got != tt.want {
				t.Errorf("clientAddr(%q, %q) = %q, want %q", tt.peer, tt.forwarded, got, tt.want)
			}
		})
	}
}

func TestClientAddr_NoTrustedProxiesAlwaysThePeer(t *testing.T) {
	if got := clientAddr("127.0.0.1:80", "198.51.100.7", nil); got != "127.0.0.1" {
		t.Errorf("got %q, want the peer 127.0.0.1", got)
	}
}

func TestValidRequestID(t *testing.T) {
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		id   string
		want bool
	}{
		{"abcdefgh", true},
		{"Req-2024_01.02-XYZ", true},
		{long(128), true},
		{"", false},
		{"abcdefg", false},
		{long(129), false},
		{"has space1", false},
		{"newline\nx1", false},
		{"quote\"xxxx", false},
		{"ação-12345", false},
		{"{\"a\":1}xxxx", false},
	}
	for _, tt := range tests {
		if got := ValidRequestID(tt.id); got != tt.want {
			t.Errorf("ValidRequestID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

package catalog

import (
	"net"
	"strconv"
	"testing"
)

// The ports handed to child processes must lie outside the kernel's ephemeral range,
// where an outgoing connection could take one before the child binds it.
func TestFreeAddrs_DistinctLoopbackPortsBelowTheEphemeralRange(t *testing.T) {
	low, high := listenPortRange()
	if high-low != 7999 {
		t.Fatalf("range %d-%d: want 8,000 ports", low, high)
	}
	addrs, err := FreeAddrs(60)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 60 {
		t.Fatalf("got %d addresses, want 60", len(addrs))
	}
	seen := map[string]bool{}
	for _, a := range addrs {
		host, p, err := net.SplitHostPort(a)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if host != "127.0.0.1" || port < low || port > high {
			t.Errorf("%s: want 127.0.0.1 and a port in %d-%d", a, low, high)
		}
		if seen[a] {
			t.Errorf("%s handed out twice", a)
		}
		seen[a] = true
		// Released: the caller's child can bind it.
		ln, err := net.Listen("tcp", a)
		if err != nil {
			t.Errorf("%s not free after FreeAddrs returned: %v", a, err)
			continue
		}
		ln.Close()
	}
}

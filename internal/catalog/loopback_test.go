package catalog

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
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

// A port handed out stays this process's: a later call, here or in another process,
// never hands it out again, even once the first caller's child has let it go.
func TestFreeAddrs_APortHandedOutIsNeverHandedOutAgain(t *testing.T) {
	first, err := FreeAddrs(40)
	if err != nil {
		t.Fatal(err)
	}
	taken := map[string]bool{}
	for _, a := range first {
		taken[a] = true
	}
	for range 20 {
		more, err := FreeAddrs(40)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range more {
			if taken[a] {
				t.Fatalf("%s handed out twice", a)
			}
			taken[a] = true
		}
	}
	// Another process sees the reservation: its lock on the port's file fails.
	_, p, _ := net.SplitHostPort(first[0])
	port, _ := strconv.Atoi(p)
	f, err := os.Open(filepath.Join(os.TempDir(), "healthcore-ports", p))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		t.Fatalf("port %d's file could be locked again while this process holds it", port)
	}
}

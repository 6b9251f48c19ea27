package catalog

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Loopback places every service of the catalog, the gateway and the PIX sandbox on
// free loopback ports, and gives every process an ops listener of its own: the layout
// of a stack of separate processes that the end-to-end test and the benchmarks start.
type Loopback struct {
	Addr        map[string]string // each service's gRPC host:port, by name
	GatewayAddr string            // host:port of the REST edge (its -gateway.addr)
	Gateway     string            // base URL of the REST edge
	// PartnerEdgeAddr is the host:port of the partner edge (its -partner-edge.addr).
	PartnerEdgeAddr string
	Sandbox         string // base URL of the PIX sandbox (its dev approve/reject routes)
	// WhatsAppSandbox is the base URL of the WhatsApp sandbox (its messages at
	// /sandbox/messages.json); MailSink the SMTP sink's host:port, whose inbox is on
	// the ops listener of the process serving notifications (/dev/mail/messages.json).
	WhatsAppSandbox, MailSink string
	// Ops is the ops listener's host:port of each process: by service name, "gateway",
	// and "serve" for one process serving every service.
	Ops map[string]string
	// Flags place every service and the sandbox (whose webhooks go to the gateway);
	// every process of the stack gets them.
	Flags []string
}

// NewLoopback picks the ports, all at once, so no two are the same.
func NewLoopback() (*Loopback, error) {
	names := Names()
	opsNames := append(slices.Clone(names), "gateway", "serve")
	addrs, err := FreeAddrs(len(names) + 5 + len(opsNames))
	if err != nil {
		return nil, err
	}
	next := func() string { a := addrs[0]; addrs = addrs[1:]; return a }
	l := &Loopback{Addr: map[string]string{}, Ops: map[string]string{}}
	for _, name := range names {
		addr := next()
		l.Addr[name] = addr
		l.Flags = append(l.Flags, fmt.Sprintf("-%s.addr=%s", name, addr), fmt.Sprintf("-%s.url=http://%s", name, addr))
	}
	l.GatewayAddr = next()
	l.Gateway = "http://" + l.GatewayAddr
	l.PartnerEdgeAddr = next()
	l.Flags = append(l.Flags, "-partner-edge.addr="+l.PartnerEdgeAddr)
	sandbox := next()
	l.Sandbox = "http://" + sandbox
	l.Flags = append(l.Flags, "-pix.sandbox-addr="+sandbox, "-pix.notification-url="+l.Gateway+"/webhooks/mercadopago")
	l.MailSink = next()
	wa := next()
	l.WhatsAppSandbox = "http://" + wa
	l.Flags = append(l.Flags, "-notifications.sink-addr="+l.MailSink, "-notifications.whatsapp-sandbox-addr="+wa,
		"-notifications.whatsapp-webhook-url="+l.Gateway+"/webhooks/whatsapp", "-notifications.app-base-url="+l.Gateway)
	for _, name := range opsNames {
		l.Ops[name] = next()
	}
	return l, nil
}

// FreeAddr is a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	addrs, err := FreeAddrs(1)
	if err != nil {
		return "", err
	}
	return addrs[0], nil
}

// FreeAddrs returns n loopback addresses whose ports were free a moment ago, all
// different, and handed out by no other call while this process lives.
//
// The ports are the ones another process will bind, after this one lets them go, so
// they are drawn from below the kernel's ephemeral range (ip_local_port_range): a
// port the kernel hands out itself ("127.0.0.1:0") may be taken in the meantime as
// the local port of any outgoing connection — a pool dialling PostgreSQL, say — and
// the process that was to listen on it fails with "address already in use". Below the
// range only another listener can take it, and every port handed out is reserved
// until the process ends (an exclusive lock on a file named after it in the temporary
// directory), so two stacks started at once — by parallel tests in one process or in
// several — never draw the same one.
func FreeAddrs(n int) ([]string, error) {
	low, high := listenPortRange()
	out := make([]string, 0, n)
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for tries := 0; len(out) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("catalog: no %d free loopback ports in %d-%d", n, low, high)
		}
		port := low + rand.IntN(high-low+1)
		if !reservePort(port) {
			continue // another stack's
		}
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken: draw again (the reservation stays: the port is someone's)
		}
		held = append(held, ln)
		out = append(out, ln.Addr().String())
	}
	return out, nil
}

// reserved keeps open the locked files of the ports this process handed out: the
// locks last as long as the process.
var reserved struct {
	sync.Mutex
	files []*os.File
}

// reservePort takes the port for this process, unless another call (here or in
// another process) has: an exclusive, non-blocking flock on
// <temp>/healthcore-ports/<port>. Where no lock can be taken at all (no writable
// temporary directory), it says yes and the bind check alone decides.
func reservePort(port int) bool {
	dir := filepath.Join(os.TempDir(), "healthcore-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return true
	}
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return true
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return false
	}
	reserved.Lock()
	reserved.files = append(reserved.files, f)
	reserved.Unlock()
	return true
}

// listenPortRange is the range FreeAddrs draws from: the 8,000 ports just below the
// ephemeral range the kernel reports (32768-60999 on Linux by default), or 20000-32767
// where it cannot be read.
func listenPortRange() (low, high int) {
	high = 32767
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if first, err := strconv.Atoi(f[0]); err == nil && first > 10000 {
				high = first - 1
			}
		}
	}
	return high - 7999, high
}

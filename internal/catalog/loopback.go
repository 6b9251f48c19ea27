package catalog

import (
	"fmt"
	"net"
	"slices"
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
// different: every port is held until all are chosen (one at a time, the kernel may
// hand out a port just released again).
func FreeAddrs(n int) ([]string, error) {
	out := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		out = append(out, ln.Addr().String())
	}
	return out, nil
}

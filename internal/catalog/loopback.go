package catalog

import (
	"fmt"
	"net"
)

// Loopback places every service of the catalog, the gateway and the PIX sandbox on
// free loopback ports: the layout of a stack of separate processes that the
// end-to-end test and the benchmarks start.
type Loopback struct {
	Addr        map[string]string // each service's gRPC host:port, by name
	GatewayAddr string            // host:port of the REST edge (its -gateway.addr)
	Gateway     string            // base URL of the REST edge
	Sandbox     string            // base URL of the PIX sandbox (its dev approve/reject routes)
	// Flags place every service and the sandbox (whose webhooks go to the gateway);
	// every process of the stack gets them.
	Flags []string
}

// NewLoopback picks the ports.
func NewLoopback() (*Loopback, error) {
	l := &Loopback{Addr: map[string]string{}}
	for _, name := range Names() {
		addr, err := FreeAddr()
		if err != nil {
			return nil, err
		}
		l.Addr[name] = addr
		l.Flags = append(l.Flags, fmt.Sprintf("-%s.addr=%s", name, addr), fmt.Sprintf("-%s.url=http://%s", name, addr))
	}
	var err error
	if l.GatewayAddr, err = FreeAddr(); err != nil {
		return nil, err
	}
	l.Gateway = "http://" + l.GatewayAddr
	sandbox, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	l.Sandbox = "http://" + sandbox
	l.Flags = append(l.Flags, "-pix.sandbox-addr="+sandbox, "-pix.notification-url="+l.Gateway+"/webhooks/mercadopago")
	return l, nil
}

// FreeAddr is a loopback address whose port was free a moment ago.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

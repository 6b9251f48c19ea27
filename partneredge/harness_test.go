package partneredge_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"healthcore/gen/healthcore/clinics/v1/clinicsv1connect"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/payments/v1/paymentsv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	_ "healthcore/internal/catalog" // every contract, so the registry holds every RPC
	"healthcore/partneredge"
	"healthcore/platform/auditchain"
	"healthcore/platform/authn"
	"healthcore/platform/envelope"
	"healthcore/platform/pgtest"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
	"healthcore/services/clinics"
	"healthcore/services/directory"
	"healthcore/services/scheduling"
)

// stack is a partner edge in front of the real directory and scheduling services (the
// services partner methods belong to today), every other service's address pointing
// at a sink that counts whatever reaches it.
type stack struct {
	t     *testing.T
	users *testkit.Users
	edge  *partneredge.Edge
	url   string // http://127.0.0.1:port (h2c and HTTP/1.1)
	// reached counts the calls that arrived at a service, by procedure, and the
	// deadline each last saw; sink counts the requests any other service received.
	reached *reached
	sink    atomic.Int64
	callLog *pgxpool.Pool // the edge's schema; nil without a call log
	secret  []byte
	metrics *prometheus.Registry
}

type reached struct {
	mu        sync.Mutex
	calls     map[string]int
	remaining map[string]time.Duration
}

func (r *reached) count(proc string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[proc]
}

func (r *reached) deadline(proc string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.remaining[proc]
}

// interceptor counts every call that reaches the service, first of its interceptors.
func (r *reached) interceptor() connect.Interceptor {
	return connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			if !req.Spec().IsClient {
				r.mu.Lock()
				r.calls[req.Spec().Procedure]++
				if dl, ok := ctx.Deadline(); ok {
					r.remaining[req.Spec().Procedure] = time.Until(dl)
				}
				r.mu.Unlock()
			}
			return next(ctx, req)
		}
	})
}

type stackOptions struct {
	limits  partneredge.Limits
	callLog bool
}

func startStack(t *testing.T, o stackOptions) *stack {
	t.Helper()
	s := &stack{t: t, users: testkit.NewUsers(t), reached: &reached{calls: map[string]int{}, remaining: map[string]time.Duration{}}}
	ctx := context.Background()
	count := s.reached.interceptor()
	mount := func(h func(...connect.HandlerOption) (string, http.Handler)) func(*server.Server) {
		return func(srv *server.Server) {
			srv.Handle(h(append([]connect.HandlerOption{connect.WithInterceptors(count)}, srv.HandlerOptions()...)...))
		}
	}

	dir, err := directory.New(ctx, directory.Deps{DB: pgtest.Pool(t, directory.Schema.Name, directory.Schema), Logger: testkit.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	dirURL := testkit.Serve(t, s.users.Interceptor("directory"), mount(dir.Handler))
	as := func(caller string) []connect.ClientOption {
		return []connect.ClientOption{connect.WithGRPC(), connect.WithInterceptors(testkit.Caller(caller))}
	}
	sched, err := scheduling.New(scheduling.Deps{
		DB: pgtest.Pool(t, scheduling.Schema.Name, scheduling.Schema), Logger: testkit.Logger(t),
		Envelope:  envelope.New(testkit.Keys(t, "scheduling"), envelope.Defaults),
		Directory: directoryv1connect.NewDirectoryServiceClient(testkit.HTTPClient(t), dirURL, as("scheduling")...),
		Payments:  paymentsv1connect.NewPaymentsServiceClient(testkit.HTTPClient(t), "http://127.0.0.1:1", connect.WithGRPC()),
	}, scheduling.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	schedURL := testkit.Serve(t, s.users.Interceptor("scheduling"), mount(sched.Handler))
	cli, err := clinics.New(clinics.Deps{
		DB: pgtest.Pool(t, clinics.Schema.Name, clinics.Schema), Logger: testkit.Logger(t),
		Envelope: envelope.New(testkit.Keys(t, "clinics"), envelope.Defaults),
	}, clinics.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	clinicsURL := testkit.Serve(t, s.users.Interceptor("clinics"), mount(cli.Handler))

	sinkLn := testkit.Listen(t)
	sink := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.sink.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}), Protocols: h2c()}
	go func() { _ = sink.Serve(sinkLn) }()
	t.Cleanup(func() { _ = sink.Close() })

	transport := testkit.HTTPClient(t).Transport
	ups := map[string]partneredge.Upstream{}
	for _, md := range testkit.RPCs() {
		ups[string(md.Parent().FullName())] = partneredge.Upstream{URL: "http://" + sinkLn.Addr().String(), Transport: transport}
	}
	ups[directoryv1connect.DirectoryServiceName] = partneredge.Upstream{URL: dirURL, Transport: transport}
	ups[schedulingv1connect.SchedulingServiceName] = partneredge.Upstream{URL: schedURL, Transport: transport}
	ups[clinicsv1connect.ClinicsServiceName] = partneredge.Upstream{URL: clinicsURL, Transport: transport}

	s.metrics = prometheus.NewRegistry()
	opts := partneredge.Options{Upstreams: ups, Verifier: authn.NewVerifier(s.users.KeySource()), Limits: o.limits,
		Logger: testkit.Logger(t), Registerer: s.metrics}
	if opts.Limits == (partneredge.Limits{}) {
		opts.Limits = partneredge.DefaultLimits
	}
	if o.callLog {
		s.callLog = pgtest.Pool(t, partneredge.Schema.Name, partneredge.Schema)
		if s.secret, err = auditchain.NewSecret(0); err != nil {
			t.Fatal(err)
		}
		if opts.CallLog, err = partneredge.OpenCallLog(s.callLog, s.secret); err != nil {
			t.Fatal(err)
		}
	}
	if s.edge, err = partneredge.New(opts); err != nil {
		t.Fatal(err)
	}
	ln := testkit.Listen(t)
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- s.edge.Serve(sctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("edge stopped with %v", err)
		}
	})
	s.url = "http://" + ln.Addr().String()
	return s
}

func h2c() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// method returns the descriptor of a procedure of the registry.
func method(t *testing.T, proc string) protoreflect.MethodDescriptor {
	t.Helper()
	for _, md := range testkit.RPCs() {
		if procedure(md) == proc {
			return md
		}
	}
	t.Fatalf("no method %s", proc)
	return nil
}

func procedure(md protoreflect.MethodDescriptor) string {
	return "/" + string(md.Parent().FullName()) + "/" + string(md.Name())
}

// protocols are the three the edge speaks, each calling a method with an empty
// request and a bearer token.
var protocols = []struct {
	name string
	call func(s *stack, md protoreflect.MethodDescriptor, token string, timeout time.Duration) error
}{
	{"grpc-go", (*stack).callGRPC},
	{"connect", func(s *stack, md protoreflect.MethodDescriptor, token string, timeout time.Duration) error {
		return s.callConnect(md, token, timeout)
	}},
	{"grpc-web", func(s *stack, md protoreflect.MethodDescriptor, token string, timeout time.Duration) error {
		return s.callConnect(md, token, timeout, connect.WithGRPCWeb())
	}},
}

// callGRPC calls md through the edge with google.golang.org/grpc, and returns its
// error as a Connect error (nil when it succeeded).
func (s *stack) callGRPC(md protoreflect.MethodDescriptor, token string, timeout time.Duration) error {
	conn, err := grpc.NewClient(strings.TrimPrefix(s.url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		s.t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	err = conn.Invoke(ctx, procedure(md), dynamicpb.NewMessage(md.Input()), dynamicpb.NewMessage(md.Output()))
	return fromGRPC(err)
}

// callConnect calls md through the edge with connect-go (the Connect protocol, or
// another given by opts).
func (s *stack) callConnect(md protoreflect.MethodDescriptor, token string, timeout time.Duration, opts ...connect.ClientOption) error {
	c := connect.NewClient[dynamicpb.Message, dynamicpb.Message](testkit.HTTPClient(s.t), s.url+procedure(md),
		append([]connect.ClientOption{connect.WithSchema(md), connect.WithResponseInitializer(func(_ connect.Spec, msg any) error {
			*msg.(*dynamicpb.Message) = *dynamicpb.NewMessage(md.Output())
			return nil
		})}, opts...)...)
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req := connect.NewRequest(dynamicpb.NewMessage(md.Input()))
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	_, err := c.CallUnary(ctx, req)
	return err
}

// fromGRPC turns a gRPC status into the Connect error it carries (code, message,
// details), so both clients' errors are checked alike.
func fromGRPC(err error) error {
	if err == nil {
		return nil
	}
	st := status.Convert(err)
	ce := connect.NewError(connect.Code(st.Code()), errors.New(st.Message()))
	for _, d := range st.Details() {
		if m, ok := d.(proto.Message); ok {
			if det, err := connect.NewErrorDetail(m); err == nil {
				ce.AddDetail(det)
			}
		}
	}
	return ce
}

// callsTimed is how many partner calls the edge's histogram counted with these labels.
func (s *stack) callsTimed(method, code string) uint64 {
	s.t.Helper()
	families, err := s.metrics.Gather()
	if err != nil {
		s.t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "healthcore_partner_call_duration_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["method"] == method && labels["code"] == code {
				return m.GetHistogram().GetSampleCount()
			}
		}
	}
	return 0
}

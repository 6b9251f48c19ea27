package partneredge_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	accessv1 "healthcore/gen/healthcore/access/v1"
	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/partneredge"
	"healthcore/platform/authn"
	"healthcore/platform/errs"
	"healthcore/platform/testkit"
)

// The refusals that would mean the call did not get through to the service's own
// logic: the edge's, and the access rule's.
var refusals = []errs.Reason{
	partneredge.ReasonNotPartnerMethod, partneredge.ReasonPartnerTokenRequired, partneredge.ReasonRateLimited,
	partneredge.ReasonRequestTooLarge, partneredge.ReasonServiceUnavailable,
	authn.ReasonPartnerNotAllowed, authn.ReasonScopeMissing, authn.ReasonTokenMissing, authn.ReasonTokenInvalid, authn.ReasonTokenExpired,
}

func TestEdge_ForwardsExactlyThePartnerMethodsOfTheRules(t *testing.T) {
	s := startStack(t, stackOptions{})
	var want []string
	for _, md := range testkit.RPCs() {
		if len(authn.RuleOf(md).GetPartner().GetScopes()) > 0 {
			want = append(want, procedure(md))
		}
	}
	slices.Sort(want)
	if got := s.edge.Procedures(); !slices.Equal(got, want) || len(got) == 0 {
		t.Fatalf("edge forwards %v, want the partner methods %v", got, want)
	}
	for _, proc := range []string{directoryv1connect.DirectoryServiceGetDoctorProcedure, schedulingv1connect.SchedulingServiceGetDoctorAvailabilityProcedure} {
		if !slices.Contains(want, proc) {
			t.Errorf("%s is not among the partner methods %v", proc, want)
		}
	}
}

// TestEdge_EveryPartnerMethodReachesItsServiceInEachProtocol calls every partner
// method with a token holding only its scope, in gRPC (google.golang.org/grpc), Connect
// and gRPC-Web: each call arrives at the service, which answers it (an empty request
// is its to judge), and neither the edge nor the access rule refuses it.
func TestEdge_EveryPartnerMethodReachesItsServiceInEachProtocol(t *testing.T) {
	s := startStack(t, stackOptions{})
	for _, proc := range s.edge.Procedures() {
		md := method(t, proc)
		scope := authn.RuleOf(md).GetPartner().GetScopes()[0]
		_, token := s.users.SignPartner("clinic-1", scope)
		for i, p := range protocols {
			err := p.call(s, md, token, 0)
			for _, r := range refusals {
				if errs.Has(err, r) {
					t.Errorf("%s over %s with scope %s: refused %v", proc, p.name, scope, err)
				}
			}
			if got := s.reached.count(proc); got != i+1 {
				t.Errorf("%s over %s: the service saw %d calls, want %d (answer %v)", proc, p.name, got, i+1, err)
			}
		}
	}
	if n := s.sink.Load(); n != 0 {
		t.Errorf("%d requests reached services partners never call", n)
	}
}

// TestEdge_EveryOtherMethodIsRefusedBeforeAnyService walks every RPC of the contracts
// whose rule admits no partner (internal ones, a person's own, public ones) and calls
// it through the edge with a partner token holding every scope: each is refused
// UNIMPLEMENTED NOT_A_PARTNER_METHOD, and no service hears of any of them.
func TestEdge_EveryOtherMethodIsRefusedBeforeAnyService(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, token := s.users.SignPartner("clinic-1", authn.PartnerScopes...)
	n := 0
	for _, md := range testkit.RPCs() {
		if partneredge.Partner(md) {
			continue
		}
		n++
		// gRPC for all; Connect for unary methods (the client here is unary).
		ps := protocols[:1]
		if !md.IsStreamingClient() && !md.IsStreamingServer() {
			ps = protocols
		}
		for _, p := range ps {
			err := p.call(s, md, token, 0)
			if !errs.Has(err, partneredge.ReasonNotPartnerMethod) {
				t.Errorf("%s over %s: %v, want %v", procedure(md), p.name, err, partneredge.ReasonNotPartnerMethod)
			}
		}
		if got := s.reached.count(procedure(md)); got != 0 {
			t.Errorf("%s reached its service %d times", procedure(md), got)
		}
	}
	if n < 50 {
		t.Fatalf("only %d methods without a partner rule: are the contracts registered?", n)
	}
	if got := s.sink.Load(); got != 0 {
		t.Errorf("%d requests reached a service", got)
	}
}

func TestEdge_RefusesOtherTokensAndScopesAtTheEdge(t *testing.T) {
	s := startStack(t, stackOptions{})
	md := method(t, directoryv1connect.DirectoryServiceGetDoctorProcedure)
	_, agendaOnly := s.users.SignPartner("clinic-1", "agenda.read")
	_, patient := s.users.Sign(accessv1.Role_ROLE_PATIENT, "")
	tests := []struct {
		name, token string
		want        errs.Reason
	}{
		{"no token", "", authn.ReasonTokenMissing},
		{"not a token", "garbage", authn.ReasonTokenInvalid},
		{"a patient's token", patient, partneredge.ReasonPartnerTokenRequired},
		{"a partner token without directory.read", agendaOnly, authn.ReasonScopeMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range protocols {
				testkit.WantReason(t, p.call(s, md, tt.token, 0), tt.want)
			}
		})
	}
	if got := s.reached.count(procedure(md)); got != 0 {
		t.Errorf("GetDoctor reached directory %d times", got)
	}
}

// TestEdge_ReflectionDescribesOnlyThePartnerMethods lists the services over gRPC
// reflection (v1, as grpcurl does) with a partner token, then reads each service's
// file: the methods described are exactly those the edge forwards.
func TestEdge_ReflectionDescribesOnlyThePartnerMethods(t *testing.T) {
	s := startStack(t, stackOptions{})
	_, token := s.users.SignPartner("clinic-1", "directory.read")
	conn, err := grpc.NewClient(strings.TrimPrefix(s.url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// Without a token, reflection is refused.
	stream, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_ = stream.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}})
	if _, err := stream.Recv(); !errs.Has(fromGRPC(err), authn.ReasonTokenMissing) {
		t.Errorf("reflection without a token: %v, want %v", err, authn.ReasonTokenMissing)
	}

	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	stream, err = reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ask := func(req *reflectionv1.ServerReflectionRequest) *reflectionv1.ServerReflectionResponse {
		t.Helper()
		if err := stream.Send(req); err != nil {
			t.Fatal(err)
		}
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	list := ask(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}})
	var services []string
	for _, svc := range list.GetListServicesResponse().GetService() {
		services = append(services, svc.GetName())
	}
	slices.Sort(services)
	// The services with a partner method, from the rules: directory, scheduling and
	// clinics (its event endpoints) today.
	var want []string
	for _, md := range testkit.RPCs() {
		if name := string(md.Parent().FullName()); partneredge.Partner(md) && !slices.Contains(want, name) {
			want = append(want, name)
		}
	}
	slices.Sort(want)
	if !slices.Contains(want, directoryv1connect.DirectoryServiceName) || !slices.Equal(services, want) {
		t.Fatalf("reflection lists %v, want %v", services, want)
	}
	var described []string
	for _, name := range services {
		resp := ask(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: name}})
		files := resp.GetFileDescriptorResponse().GetFileDescriptorProto()
		if len(files) == 0 {
			t.Fatalf("no file describes %s: %v", name, resp.GetErrorResponse())
		}
		for _, b := range files {
			var fd descriptorpb.FileDescriptorProto
			if err := proto.Unmarshal(b, &fd); err != nil {
				t.Fatal(err)
			}
			for _, svc := range fd.GetService() {
				for _, m := range svc.GetMethod() {
					described = append(described, "/"+fd.GetPackage()+"."+svc.GetName()+"/"+m.GetName())
				}
			}
		}
	}
	slices.Sort(described)
	described = slices.Compact(described)
	if want := s.edge.Procedures(); !slices.Equal(described, want) {
		t.Errorf("reflection describes %v, want exactly %v", described, want)
	}
	// A service partners never call is not found.
	resp := ask(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_FileContainingSymbol{
		FileContainingSymbol: "healthcore.keys.v1.KeysService"}})
	if resp.GetErrorResponse() == nil {
		t.Errorf("reflection describes the keys service: %v", resp)
	}
}

func TestEdge_RefusesAnOversizeBodyBeforeTheService(t *testing.T) {
	limits := partneredge.DefaultLimits
	limits.MaxBodyBytes = 1024
	s := startStack(t, stackOptions{limits: limits})
	md := method(t, directoryv1connect.DirectoryServiceSearchDoctorsProcedure)
	_, token := s.users.SignPartner("clinic-1", "directory.read")
	// A request of 2 KiB: the first string field of the request, filled.
	req := dynamicpb.NewMessage(md.Input())
	for i := range md.Input().Fields().Len() {
		if f := md.Input().Fields().Get(i); f.Kind() == protoreflect.StringKind && !f.IsList() {
			req.Set(f, protoreflect.ValueOfString(strings.Repeat("a", 2048)))
			break
		}
	}
	conn, err := grpc.NewClient(strings.TrimPrefix(s.url, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	err = conn.Invoke(ctx, procedure(md), req, dynamicpb.NewMessage(md.Output()))
	testkit.WantReason(t, fromGRPC(err), partneredge.ReasonRequestTooLarge)

	c := connect.NewClient[dynamicpb.Message, dynamicpb.Message](testkit.HTTPClient(t), s.url+procedure(md), connect.WithSchema(md),
		connect.WithResponseInitializer(func(_ connect.Spec, msg any) error {
			*msg.(*dynamicpb.Message) = *dynamicpb.NewMessage(md.Output())
			return nil
		}))
	creq := connect.NewRequest(req)
	creq.Header().Set("Authorization", "Bearer "+token)
	_, err = c.CallUnary(context.Background(), creq)
	testkit.WantReason(t, err, partneredge.ReasonRequestTooLarge)
	if got := s.reached.count(procedure(md)); got != 0 {
		t.Errorf("the oversize request reached directory %d times", got)
	}
	// A small one goes through.
	if err := s.callConnect(md, token, 0); err != nil && errs.Has(err, partneredge.ReasonRequestTooLarge) {
		t.Errorf("a small request: %v", err)
	}
	if got := s.reached.count(procedure(md)); got != 1 {
		t.Errorf("the small request reached directory %d times, want 1", got)
	}
}

// TestEdge_RateLimitsEachClientPerScopeAndTellsWhenToRetry: with a bucket of two calls
// per client and scope, a client's third call is refused RESOURCE_EXHAUSTED
// RATE_LIMITED with a RetryInfo delay, while its other scope and another client go on;
// after the delay it is served again.
func TestEdge_RateLimitsEachClientPerScopeAndTellsWhenToRetry(t *testing.T) {
	limits := partneredge.DefaultLimits
	limits.Rate, limits.Burst = 2, 2
	s := startStack(t, stackOptions{limits: limits})
	search := method(t, directoryv1connect.DirectoryServiceSearchDoctorsProcedure)
	agenda := method(t, schedulingv1connect.SchedulingServiceGetDoctorAvailabilityProcedure)
	_, token := s.users.SignPartner("clinic-1", "directory.read", "agenda.read")
	_, other := s.users.SignPartner("clinic-2", "directory.read")

	for i := range 2 {
		if err := s.callConnect(search, token, 0); errs.Has(err, partneredge.ReasonRateLimited) {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	err := s.callGRPC(search, token, 0)
	testkit.WantReason(t, err, partneredge.ReasonRateLimited)
	delay := testkit.RetryAfter(t, err)
	if delay <= 0 || delay > time.Second {
		t.Fatalf("RetryInfo delay %s, want up to one token's time (500ms)", delay)
	}
	// The Connect protocol carries the same answer.
	err = s.callConnect(search, token, 0)
	testkit.WantReason(t, err, partneredge.ReasonRateLimited)
	testkit.RetryAfter(t, err)

	if err := s.callConnect(agenda, token, 0); errs.Has(err, partneredge.ReasonRateLimited) {
		t.Errorf("the client's other scope was limited too: %v", err)
	}
	if err := s.callConnect(search, other, 0); errs.Has(err, partneredge.ReasonRateLimited) {
		t.Errorf("another client was limited too: %v", err)
	}
	if got := s.reached.count(procedure(search)); got != 3 {
		t.Errorf("directory saw %d searches, want the 3 admitted", got)
	}

	time.Sleep(testkit.RetryAfter(t, s.callConnect(search, token, 0)))
	if err := s.callGRPC(search, token, 0); errs.Has(err, partneredge.ReasonRateLimited) {
		t.Errorf("after the delay RetryInfo gave: %v", err)
	}
	if got := s.reached.count(procedure(search)); got != 4 {
		t.Errorf("directory saw %d searches, want 4", got)
	}
}

// TestEdge_BoundsTheDeadline: a call asking for an hour gets the largest deadline,
// one asking for none gets the default, and a short one keeps its own.
func TestEdge_BoundsTheDeadline(t *testing.T) {
	limits := partneredge.DefaultLimits
	limits.DefaultTimeout, limits.MaxTimeout = 7*time.Second, 20*time.Second
	s := startStack(t, stackOptions{limits: limits})
	md := method(t, directoryv1connect.DirectoryServiceSearchDoctorsProcedure)
	_, token := s.users.SignPartner("clinic-1", "directory.read")
	tests := []struct {
		name     string
		timeout  time.Duration
		min, max time.Duration
	}{
		{"an hour is lowered to the largest", time.Hour, 10 * time.Second, 20 * time.Second},
		{"none gets the default", 0, 3 * time.Second, 7 * time.Second},
		{"a short one is kept", 2 * time.Second, 0, 2 * time.Second},
	}
	for _, tt := range tests {
		for _, p := range protocols {
			_ = p.call(s, md, token, tt.timeout)
			// Between the edge and the service some time passes: the service's
			// remaining time is at most the bound, and well above the next one down.
			if got := s.reached.deadline(procedure(md)); got > tt.max || got <= tt.min {
				t.Errorf("%s over %s: the service had %s left, want in (%s, %s]", tt.name, p.name, got, tt.min, tt.max)
			}
		}
	}
}

package server_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/descriptorpb"

	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	keysv1 "healthcore/gen/healthcore/keys/v1"
	"healthcore/gen/healthcore/keys/v1/keysv1connect"
	"healthcore/platform/server"
	"healthcore/platform/testkit"
)

// grpcConn dials addr with grpc-go, as grpcurl and partner clinics do.
func grpcConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

func TestServer_HealthAndReflectionCoverEveryMountedService(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	idSvc, auth := identityService(t, logs)
	st := startLogged(t, logs, server.Options{Auth: auth, Reflection: true}, func(s *server.Server) {
		s.Handle(idSvc.Handler(s.HandlerOptions()...))
		s.Handle(keysv1connect.NewKeysServiceHandler(keysService(t), s.HandlerOptions()...))
	})
	conn := grpcConn(t, st.addr)
	ctx := context.Background()

	t.Run("health", func(t *testing.T) {
		health := healthpb.NewHealthClient(conn)
		for _, svc := range []string{"", identityv1connect.IdentityServiceName, keysv1connect.KeysServiceName} {
			resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil {
				t.Fatalf("Check(%q): %v", svc, err)
			}
			if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				t.Errorf("Check(%q) = %v, want SERVING", svc, resp.GetStatus())
			}
		}
		_, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: "healthcore.nope.v1.NopeService"})
		if status.Code(err) != codes.NotFound {
			t.Errorf("Check of an unknown service: %v, want NotFound", err)
		}
	})

	t.Run("reflection", func(t *testing.T) {
		stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = stream.CloseSend() }()
		ask := func(req *reflectionpb.ServerReflectionRequest) *reflectionpb.ServerReflectionResponse {
			t.Helper()
			if err := stream.Send(req); err != nil {
				t.Fatal(err)
			}
			resp, err := stream.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if e := resp.GetErrorResponse(); e != nil {
				t.Fatalf("reflection error for %v: %v", req, e)
			}
			return resp
		}

		// grpcurl list
		var listed []string
		list := ask(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
		for _, s := range list.GetListServicesResponse().GetService() {
			listed = append(listed, s.GetName())
		}
		slices.Sort(listed)
		want := []string{
			"grpc.health.v1.Health",
			"grpc.reflection.v1.ServerReflection",
			"grpc.reflection.v1alpha.ServerReflection",
			identityv1connect.IdentityServiceName,
			keysv1connect.KeysServiceName,
		}
		if !slices.Equal(listed, want) {
			t.Errorf("listed services %q, want %q", listed, want)
		}

		// grpcurl describe: every listed service resolves to a file that declares it.
		for _, name := range want {
			resp := ask(&reflectionpb.ServerReflectionRequest{
				MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: name},
			})
			found := false
			for _, raw := range resp.GetFileDescriptorResponse().GetFileDescriptorProto() {
				var fd descriptorpb.FileDescriptorProto
				if err := proto.Unmarshal(raw, &fd); err != nil {
					t.Fatal(err)
				}
				for _, s := range fd.GetService() {
					found = found || fd.GetPackage()+"."+s.GetName() == name
				}
			}
			if !found {
				t.Errorf("describe %s: no returned file declares it", name)
			}
		}
	})
}

func TestServer_GracefulStopReportsNotServingDrainsAndFinishesInFlightCalls(t *testing.T) {
	t.Parallel()
	b := blockingKeys{keysService(t), make(chan struct{}, 1), make(chan struct{})}
	// The drain is long enough to watch health from outside; nothing below depends on
	// how long it really is.
	st := start(t, server.Options{Auth: serviceAuth(), DrainDelay: time.Second}, mountKeys(b))
	health := healthpb.NewHealthClient(grpcConn(t, st.addr))
	ctx := context.Background()
	check := func(svc string) (healthpb.HealthCheckResponse_ServingStatus, error) {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		return resp.GetStatus(), err
	}
	if s, err := check(""); err != nil || s != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("before stop: %v %v, want SERVING", s, err)
	}

	type result struct {
		resp *connect.Response[keysv1.EncryptResponse]
		err  error
	}
	inflight := make(chan result, 1)
	httpClient := testkit.HTTPClient(t)
	client := keysv1connect.NewKeysServiceClient(httpClient, st.url, connect.WithGRPC(),
		connect.WithInterceptors(testkit.Caller("records")))
	go func() {
		resp, err := client.Encrypt(ctx, encryptReq("in flight"))
		inflight <- result{resp, err}
	}()
	<-b.entered

	served := make(chan error, 1)
	go func() { served <- st.stop() }()

	// During the drain: health says NOT_SERVING, for the server and each service.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		s, err := check("")
		if err != nil {
			t.Fatalf("health during the drain: %v", err)
		}
		if s == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health still %v after stop", s)
		}
	}
	if s, err := check(keysv1connect.KeysServiceName); err != nil || s != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("keys service during the drain: %v %v, want NOT_SERVING", s, err)
	}

	// After the drain the listener closes, while the in-flight call holds Serve open.
	for deadline := time.Now().Add(10 * time.Second); !dialRefused(st.addr); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("new connections still accepted after the drain")
		}
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v with a call in flight", err)
	case r := <-inflight:
		t.Fatalf("in-flight call ended before it was released: %v", r.err)
	default:
	}

	close(b.release)
	r := <-inflight
	if r.err != nil {
		t.Fatalf("in-flight call failed: %v", r.err)
	}
	if len(r.resp.Msg.GetCiphertextBlob()) == 0 || r.resp.Msg.GetKeyId() == "" {
		t.Errorf("in-flight call answered %v, want a ciphertext and key id", r.resp.Msg)
	}
	httpClient.CloseIdleConnections()
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v, want nil", err)
	}
	if n := len(st.logs.find(t, "stopped", nil)); n != 1 {
		t.Errorf("%d stopped log lines, want 1", n)
	}
}

func TestServer_WithoutReflectionGrpcurlListIsUnimplemented(t *testing.T) {
	t.Parallel()
	st := start(t, server.Options{Auth: serviceAuth()}, mountKeys(keysService(t)))
	conn := grpcConn(t, st.addr)
	ctx := context.Background()
	// grpcurl asks v1, then v1alpha (whose messages are v1's, on the wire): both must be
	// refused.
	for _, method := range []string{
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
	} {
		stream, err := conn.NewStream(ctx, &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, method)
		if err == nil {
			// A send that meets a stream the server already ended returns io.EOF; the
			// status, as gRPC defines it, is what the receive then returns.
			_ = stream.SendMsg(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}})
			err = stream.RecvMsg(&reflectionpb.ServerReflectionResponse{})
		}
		if status.Code(err) != codes.Unimplemented {
			t.Errorf("%s list: %v, want Unimplemented", method, err)
		}
	}
	// Health is still served: probes need it.
	if resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health without reflection: %v %v, want SERVING", resp.GetStatus(), err)
	}
}

// While Options.Ready fails (the database is down) every service reports NOT_SERVING,
// and SERVING again once it passes, without a restart.
func TestServer_HealthFollowsReadiness(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	st := start(t, server.Options{Ready: func(context.Context) error {
		if down.Load() {
			return errors.New("database: connection refused")
		}
		return nil
	}}, func(s *server.Server) {
		s.Handle(keysv1connect.NewKeysServiceHandler(keysService(t), s.HandlerOptions()...))
	})
	health := healthpb.NewHealthClient(grpcConn(t, st.addr))
	await := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := map[string]healthpb.HealthCheckResponse_ServingStatus{}
			for _, svc := range []string{"", keysv1connect.KeysServiceName} {
				resp, err := health.Check(context.Background(), &healthpb.HealthCheckRequest{Service: svc})
				if err != nil {
					t.Fatalf("Check(%q): %v", svc, err)
				}
				got[svc] = resp.GetStatus()
			}
			if got[""] == want && got[keysv1connect.KeysServiceName] == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("health %v, want %v for every service", got, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	await(healthpb.HealthCheckResponse_SERVING)
	down.Store(true)
	await(healthpb.HealthCheckResponse_NOT_SERVING)
	down.Store(false)
	await(healthpb.HealthCheckResponse_SERVING)
}

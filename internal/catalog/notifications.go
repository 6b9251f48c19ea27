package catalog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"healthcore/gen/healthcore/directory/v1/directoryv1connect"
	"healthcore/gen/healthcore/identity/v1/identityv1connect"
	"healthcore/platform/server"
	"healthcore/platform/tracing"
	"healthcore/services/notifications"
	"healthcore/services/notifications/mailsink"
	"healthcore/services/notifications/whatsapp"
	"healthcore/services/notifications/whatsappsandbox"
)

// DevMailPath is where dev's gateway shows the mail sink's inbox.
const DevMailPath = "/dev/mail"

var devMu sync.Mutex

// DevRoutes returns the development pages of the services this process runs: the
// mail sink's inbox at /dev/mail when the sink runs. Only `healthcore dev` mounts them
// on its gateway.
func (p *Process) DevRoutes() map[string]http.Handler {
	devMu.Lock()
	defer devMu.Unlock()
	out := map[string]http.Handler{}
	for k, v := range p.dev {
		out[k] = v
	}
	return out
}

func (p *Process) addDevRoute(pattern string, h http.Handler) {
	devMu.Lock()
	defer devMu.Unlock()
	if p.dev == nil {
		p.dev = map[string]http.Handler{}
	}
	p.dev[pattern] = h
}

func startNotifications(ctx context.Context, p *Process, cfg *notifications.Config) (*server.Server, Background, error) {
	db, err := p.pool(ctx, "notifications", notifications.Schema)
	if err != nil {
		return nil, nil, err
	}
	log := p.log.With("service", "notifications")
	var closers []func() error
	mailer, err := openMailer(ctx, p, cfg, &closers)
	if err != nil {
		return nil, nil, err
	}
	wa, err := openWhatsApp(cfg, &closers)
	if err != nil {
		closeAll(closers)
		return nil, nil, err
	}
	svc, err := notifications.New(notifications.Deps{
		DB: db, Mailer: mailer, WhatsApp: wa, Logger: log,
		Identity:  client(p, "notifications", "identity", identityv1connect.NewIdentityServiceClient), // GetContact
		Directory: client(p, "notifications", "directory", directoryv1connect.NewDirectoryServiceClient),
	}, *cfg)
	if err != nil {
		closeAll(closers)
		return nil, nil, err
	}
	p.register(svc.Collector())
	srv := p.newServer("notifications", p.remoteAuth("notifications"))
	srv.Handle(svc.Handler(srv.HandlerOptions()...))
	return srv, func(ctx context.Context) error {
		defer closeAll(closers)
		return svc.Run(ctx)
	}, nil
}

func closeAll(fs []func() error) {
	for _, f := range fs {
		_ = f()
	}
}

// openMailer returns the e-mail driver; for the sink it starts the SMTP sink and the
// SMTP driver pointed at it (development runs the real SMTP path).
func openMailer(ctx context.Context, p *Process, cfg *notifications.Config, closers *[]func() error) (notifications.Mailer, error) {
	switch cfg.Email.Value {
	case notifications.EmailSMTP:
		return notifications.NewSMTP(cfg.SMTP)
	case notifications.EmailSES:
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(cfg.SES.Region))
		if err != nil {
			return nil, fmt.Errorf("notifications: ses: %w", err)
		}
		ses := cfg.SES
		ses.Credentials = awsCfg.Credentials
		if tp := p.Tracer("notifications"); tp != nil {
			ses.HTTPClient = &http.Client{Transport: tracing.Transport(tp, http.DefaultTransport.(*http.Transport).Clone(), "ses")}
		}
		return notifications.NewSES(ses)
	}
	sink, err := mailsink.New(cfg.SinkAddr, mailsink.Options{})
	if err != nil {
		return nil, err
	}
	*closers = append(*closers, sink.Close)
	// The inbox: on dev's gateway (DevRoutes), and on the ops listener of whichever
	// process runs the sink (a stack of processes started with -allow-dev-drivers, as
	// the end-to-end test does: GET <ops>/dev/mail/messages.json).
	inbox := sink.Handler(DevMailPath)
	for _, pattern := range []string{"GET " + DevMailPath, "GET " + DevMailPath + "/"} {
		p.addDevRoute(pattern, inbox)
		p.HandleOps(pattern, inbox)
	}
	host, port, _ := net.SplitHostPort(sink.Addr())
	var n int
	_, _ = fmt.Sscan(port, &n)
	return notifications.NewSMTP(notifications.SMTPConfig{Host: host, Port: n, TLS: "none"})
}

// openWhatsApp returns the WhatsApp driver (nil when off); for the sandbox it starts the
// sandbox with the service's templates and points the production driver at it.
func openWhatsApp(cfg *notifications.Config, closers *[]func() error) (*whatsapp.Client, error) {
	switch cfg.WhatsApp.Value {
	case notifications.WhatsAppOff:
		return nil, nil
	case notifications.WhatsAppCloudAPI:
		return whatsapp.New(cfg.WhatsAppAPI)
	}
	if cfg.WhatsAppAPI.AccessToken == "" {
		cfg.WhatsAppAPI.AccessToken = randomHex()
	}
	if cfg.WhatsAppAPI.AppSecret == "" {
		cfg.WhatsAppAPI.AppSecret = randomHex()
	}
	if cfg.WhatsAppVerifyToken == "" {
		cfg.WhatsAppVerifyToken = randomHex()
	}
	if cfg.WhatsAppAPI.PhoneNumberID == "" {
		cfg.WhatsAppAPI.PhoneNumberID = notifications.DevWhatsAppPhoneID
	}
	sb, err := whatsappsandbox.New(whatsappsandbox.Options{
		AccessToken: cfg.WhatsAppAPI.AccessToken, PhoneNumberID: cfg.WhatsAppAPI.PhoneNumberID,
		Templates: notifications.SandboxTemplates(cfg.AppBaseURL), WebhookURL: cfg.WhatsAppWebhookURL, AppSecret: cfg.WhatsAppAPI.AppSecret,
	})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.WhatsAppSandboxAddr)
	if err != nil {
		_ = sb.Close()
		return nil, fmt.Errorf("notifications: whatsapp sandbox: %w", err)
	}
	hs := &http.Server{Handler: sb.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	*closers = append(*closers, hs.Close, sb.Close)
	api := cfg.WhatsAppAPI
	api.BaseURL = "http://" + ln.Addr().String()
	c, err := whatsapp.New(api)
	if err != nil {
		closeAll(*closers)
		return nil, err
	}
	return c, nil
}

func randomHex() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("catalog: no randomness"))
	}
	return hex.EncodeToString(b)
}

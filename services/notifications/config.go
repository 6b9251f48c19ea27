package notifications

import (
	"flag"
	"net"
	"net/mail"
	"net/url"
	"time"

	"healthcore/platform/config"
	"healthcore/platform/jobs"
	"healthcore/services/notifications/whatsapp"
)

// E-mail drivers (notifications.email-driver).
const (
	// EmailSink sends by SMTP to the development sink that `healthcore dev` starts.
	EmailSink = "sink"
	// EmailSMTP sends through any SMTP provider.
	EmailSMTP = "smtp"
	// EmailSES sends through Amazon SES v2.
	EmailSES = "ses"
)

// WhatsApp drivers (notifications.whatsapp-driver).
const (
	// WhatsAppOff sends no WhatsApp message: every notification goes by e-mail.
	WhatsAppOff = "off"
	// WhatsAppSandbox sends to the local sandbox (whatsappsandbox) that dev starts.
	WhatsAppSandbox = "sandbox"
	// WhatsAppCloudAPI sends through the WhatsApp Business Cloud API.
	WhatsAppCloudAPI = "cloudapi"
)

// Development defaults.
const (
	DefaultSinkAddr            = "127.0.0.1:1025"
	DefaultWhatsAppSandboxAddr = "127.0.0.1:7092"
	DefaultAppBaseURL          = "http://127.0.0.1:8080"
	// DefaultDevWhatsAppWebhook is where the sandbox posts statuses: dev's gateway.
	DefaultDevWhatsAppWebhook = "http://127.0.0.1:8080/webhooks/whatsapp"
	// DevWhatsAppPhoneID is the sandbox's business phone number id.
	DevWhatsAppPhoneID = "100000000000001"
)

// Config holds the notifications service's settings.
type Config struct {
	// AppBaseURL is the web app's address that messages link to.
	AppBaseURL string
	From       string
	Email      config.Choice
	SMTP       SMTPConfig
	SES        SESConfig
	SinkAddr   string

	WhatsApp config.Choice
	// WhatsAppAPI is the Cloud API's settings (base URL, version, phone number id,
	// token, app secret).
	WhatsAppAPI         whatsapp.Config
	WhatsAppVerifyToken string
	WhatsAppSandboxAddr string
	// WhatsAppWebhookURL is where the sandbox posts statuses (sandbox driver only; the
	// Cloud API's is set in the Meta app).
	WhatsAppWebhookURL string

	// Timeout bounds one provider call.
	Timeout time.Duration
	Jobs    jobs.Options
}

// DefaultConfig is the development setting: e-mail to the local sink, WhatsApp to
// the local sandbox.
func DefaultConfig() Config {
	return Config{
		AppBaseURL:          DefaultAppBaseURL,
		From:                "Healthcore <nao-responda@healthcore.localhost>",
		Email:               config.Choice{Value: EmailSink, Allowed: []string{EmailSink, EmailSMTP, EmailSES}},
		SMTP:                SMTPConfig{Port: 587, TLS: "mandatory"},
		SinkAddr:            DefaultSinkAddr,
		WhatsApp:            config.Choice{Value: WhatsAppSandbox, Allowed: []string{WhatsAppOff, WhatsAppSandbox, WhatsAppCloudAPI}},
		WhatsAppAPI:         whatsapp.Config{BaseURL: "https://graph.facebook.com", APIVersion: "v23.0"},
		WhatsAppSandboxAddr: DefaultWhatsAppSandboxAddr,
		WhatsAppWebhookURL:  DefaultDevWhatsAppWebhook,
		Timeout:             20 * time.Second,
	}
}

// RegisterFlags binds the settings to flags named notifications.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	d := DefaultConfig()
	if c.Email.Allowed == nil {
		c.Email = d.Email
	}
	if c.WhatsApp.Allowed == nil {
		c.WhatsApp = d.WhatsApp
	}
	fs.StringVar(&c.AppBaseURL, "notifications.app-base-url", c.AppBaseURL, "the web app's address that e-mails and WhatsApp buttons link to")
	fs.StringVar(&c.From, "notifications.email-from", c.From, "sender of the e-mails, \"Name <address>\" (SES: a verified identity)")
	fs.Var(&c.Email, "notifications.email-driver", "e-mail: sink (dev's local SMTP server and /dev/mail inbox), smtp or ses")
	fs.StringVar(&c.SMTP.Host, "notifications.smtp-host", c.SMTP.Host, "SMTP server host (email-driver=smtp)")
	fs.IntVar(&c.SMTP.Port, "notifications.smtp-port", c.SMTP.Port, "SMTP server port (email-driver=smtp; STARTTLS required)")
	fs.StringVar(&c.SMTP.Username, "notifications.smtp-username", c.SMTP.Username, "SMTP user name (email-driver=smtp)")
	fs.StringVar(&c.SMTP.Password, "notifications.smtp-password", c.SMTP.Password,
		"SMTP password; set it with HEALTHCORE_NOTIFICATIONS_SMTP_PASSWORD, not on the command line")
	fs.StringVar(&c.SES.Region, "notifications.ses-region", c.SES.Region, "Amazon SES region (email-driver=ses; credentials from the AWS default chain)")
	fs.StringVar(&c.SES.ConfigurationSet, "notifications.ses-configuration-set", c.SES.ConfigurationSet,
		"SES configuration set whose event destinations get bounces and complaints (email-driver=ses)")
	fs.StringVar(&c.SES.Endpoint, "notifications.ses-endpoint", c.SES.Endpoint, "SES endpoint URL instead of AWS's (a VPC endpoint)")
	fs.StringVar(&c.SinkAddr, "notifications.sink-addr", c.SinkAddr, "listen address of dev's SMTP sink (email-driver=sink)")
	fs.Var(&c.WhatsApp, "notifications.whatsapp-driver", "WhatsApp: sandbox (dev's local Cloud API stand-in), cloudapi, or off (e-mail only)")
	fs.StringVar(&c.WhatsAppAPI.BaseURL, "notifications.whatsapp-base-url", c.WhatsAppAPI.BaseURL, "WhatsApp Cloud API base URL (whatsapp-driver=cloudapi)")
	fs.StringVar(&c.WhatsAppAPI.APIVersion, "notifications.whatsapp-api-version", c.WhatsAppAPI.APIVersion, "Graph API version")
	fs.StringVar(&c.WhatsAppAPI.PhoneNumberID, "notifications.whatsapp-phone-number-id", c.WhatsAppAPI.PhoneNumberID,
		"the business phone number id messages are sent from (whatsapp-driver=cloudapi)")
	fs.StringVar(&c.WhatsAppAPI.AccessToken, "notifications.whatsapp-access-token", c.WhatsAppAPI.AccessToken,
		"WhatsApp business token; set it with HEALTHCORE_NOTIFICATIONS_WHATSAPP_ACCESS_TOKEN (sandbox: generated when empty)")
	fs.StringVar(&c.WhatsAppAPI.AppSecret, "notifications.whatsapp-app-secret", c.WhatsAppAPI.AppSecret,
		"Meta app secret that signs status webhooks; set it with HEALTHCORE_NOTIFICATIONS_WHATSAPP_APP_SECRET (sandbox: generated when empty)")
	fs.StringVar(&c.WhatsAppVerifyToken, "notifications.whatsapp-verify-token", c.WhatsAppVerifyToken,
		"token the webhook's GET handshake must present; set it with HEALTHCORE_NOTIFICATIONS_WHATSAPP_VERIFY_TOKEN")
	fs.StringVar(&c.WhatsAppSandboxAddr, "notifications.whatsapp-sandbox-addr", c.WhatsAppSandboxAddr, "listen address of the WhatsApp sandbox (whatsapp-driver=sandbox)")
	fs.StringVar(&c.WhatsAppWebhookURL, "notifications.whatsapp-webhook-url", c.WhatsAppWebhookURL,
		"where the WhatsApp sandbox posts statuses: the gateway's /webhooks/whatsapp (whatsapp-driver=sandbox)")
	fs.DurationVar(&c.Timeout, "notifications.timeout", c.Timeout, "time limit of one call to an e-mail or WhatsApp provider")
	c.Jobs.RegisterFlags(fs, "notifications")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	u, err := url.Parse(c.AppBaseURL)
	p.Check(err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && (u.Path == "" || u.Path == "/"),
		"notifications.app-base-url=%q: must be an absolute http(s) URL without a path, e.g. https://app.example.com", c.AppBaseURL)
	_, err = mail.ParseAddress(c.From)
	p.Check(err == nil, "notifications.email-from=%q: must be an address, e.g. \"Healthcore <nao-responda@example.com>\"", c.From)
	p.Check(c.Timeout >= time.Second && c.Timeout <= 2*time.Minute, "notifications.timeout=%s: must be between 1s and 2m", c.Timeout)
	switch c.Email.Value {
	case EmailSink, "":
		_, _, err := net.SplitHostPort(c.SinkAddr)
		p.Check(err == nil, "notifications.sink-addr=%q: must be host:port, e.g. %s", c.SinkAddr, DefaultSinkAddr)
	case EmailSMTP:
		p.Check(c.SMTP.Host != "", "notifications.smtp-host: required when notifications.email-driver=smtp")
		p.Check(c.SMTP.Port > 0 && c.SMTP.Port < 65536, "notifications.smtp-port=%d: must be a port", c.SMTP.Port)
		p.Check(c.SMTP.Username == "" || c.SMTP.Password != "",
			"notifications.smtp-password: required with notifications.smtp-username (set HEALTHCORE_NOTIFICATIONS_SMTP_PASSWORD)")
	case EmailSES:
		p.Check(c.SES.Region != "", "notifications.ses-region: required when notifications.email-driver=ses")
		p.Check(c.SES.ConfigurationSet != "",
			"notifications.ses-configuration-set: required when notifications.email-driver=ses (bounces and complaints are recorded through it)")
	}
	switch c.WhatsApp.Value {
	case WhatsAppSandbox, "":
		_, _, err := net.SplitHostPort(c.WhatsAppSandboxAddr)
		p.Check(err == nil, "notifications.whatsapp-sandbox-addr=%q: must be host:port", c.WhatsAppSandboxAddr)
	case WhatsAppCloudAPI:
		p.Check(c.WhatsAppAPI.PhoneNumberID != "", "notifications.whatsapp-phone-number-id: required when notifications.whatsapp-driver=cloudapi")
		p.Check(c.WhatsAppAPI.AccessToken != "",
			"notifications.whatsapp-access-token: required when notifications.whatsapp-driver=cloudapi (set HEALTHCORE_NOTIFICATIONS_WHATSAPP_ACCESS_TOKEN)")
		p.Check(c.WhatsAppAPI.AppSecret != "",
			"notifications.whatsapp-app-secret: required when notifications.whatsapp-driver=cloudapi (set HEALTHCORE_NOTIFICATIONS_WHATSAPP_APP_SECRET)")
		p.Check(c.WhatsAppVerifyToken != "",
			"notifications.whatsapp-verify-token: required when notifications.whatsapp-driver=cloudapi (set HEALTHCORE_NOTIFICATIONS_WHATSAPP_VERIFY_TOKEN)")
	}
	c.Jobs.Check(p, "notifications")
}

// ProductionDrivers describe the two channel choices for production's check: serve
// refuses either left at its default, and dev's sink or sandbox without
// -allow-dev-drivers.
func (c Config) ProductionDrivers() []config.Driver {
	return []config.Driver{
		{Flag: "notifications.email-driver", Choice: c.Email, Dev: c.Email.Value == EmailSink || c.Email.Value == "",
			Production: EmailSES + " or " + EmailSMTP, Why: "e-mail kept in the process's memory and shown unauthenticated, never delivered"},
		{Flag: "notifications.whatsapp-driver", Choice: c.WhatsApp, Dev: c.WhatsApp.Value == WhatsAppSandbox || c.WhatsApp.Value == "",
			Production: WhatsAppCloudAPI + " or " + WhatsAppOff, Why: "WhatsApp messages kept by a local stand-in, never delivered"},
	}
}

// Command partner is a small program a partner clinic can start its integration from.
// With the clinic's OAuth 2.0 client (client id and secret, created by a Healthcore
// operator) it obtains an access token from the token endpoint (client-credentials
// grant, client_secret_basic), opens a week of availability for a doctor affiliated
// with the clinic (SetDoctorAvailability, scope agenda.write), and prints each doctor's
// agenda (GetDoctorAgenda, agenda.read) and appointments (ListDoctorAppointments,
// appointments.read) for the week, through the generated gRPC clients. With
// -events-listen it also receives the clinic's events: it registers its endpoint
// (CreateEventEndpoint, events.manage), verifies each POST's signature (events.go) and
// prints each event, until -events-for has passed or Ctrl-C.
//
//	go run ./examples/partner -edge https://partner.example.com:443 \
//	    -token-url https://api.example.com/oauth/token \
//	    -client-id … -doctor-id … -open 09:00-17:00 \
//	    -events-listen :8443 -events-url https://hooks.example.com/healthcore
//
// The secret is read from HEALTHCORE_CLIENT_SECRET unless -client-secret is given; the
// events endpoint's signing secret from HEALTHCORE_EVENTS_SECRET, when the endpoint was
// registered before (otherwise the program registers it, or rotates its secret, and
// prints the new secret once).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"

	clinicsv1 "healthcore/gen/healthcore/clinics/v1"
	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
)

func main() {
	var o partnerOptions
	flag.StringVar(&o.edge, "edge", "", "URL of the partner gRPC edge: https://host:port (TLS) or http://host:port (cleartext, local tests only)")
	flag.StringVar(&o.tokenURL, "token-url", "", "the OAuth 2.0 token endpoint, e.g. https://api.example.com/oauth/token")
	flag.StringVar(&o.clientID, "client-id", os.Getenv("HEALTHCORE_CLIENT_ID"), "the clinic's OAuth client id (default $HEALTHCORE_CLIENT_ID)")
	flag.StringVar(&o.clientSecret, "client-secret", "", "the client's secret (default $HEALTHCORE_CLIENT_SECRET; prefer the variable: flags show in ps)")
	flag.StringVar(&o.doctors, "doctor-id", "", "ids of doctors affiliated with the clinic, comma-separated")
	flag.StringVar(&o.caFile, "ca-file", "", "PEM file of the certificate authorities to trust for the edge and the token endpoint (default: the system's)")
	flag.StringVar(&o.open, "open", "", "open the first doctor's agenda Monday to Friday in this window (HH:MM-HH:MM); empty leaves it as it is")
	flag.StringVar(&o.from, "from", "", "first day of the week shown, YYYY-MM-DD (default today, UTC)")
	flag.StringVar(&o.eventsListen, "events-listen", "", "receive the clinic's events on this address (host:port); empty receives none")
	flag.StringVar(&o.eventsURL, "events-url", "", "the public URL at which Healthcore reaches -events-listen (default http://<the listener's address>/: a local stack only)")
	flag.DurationVar(&o.eventsFor, "events-for", 0, "with -events-listen: how long to wait for events once the week is printed (0: until Ctrl-C)")
	flag.Parse()
	if o.clientSecret == "" {
		o.clientSecret = os.Getenv("HEALTHCORE_CLIENT_SECRET")
	}
	o.eventsSecret = os.Getenv("HEALTHCORE_EVENTS_SECRET")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := runPartner(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "partner:", err)
		os.Exit(1)
	}
}

// partnerOptions are the command line.
type partnerOptions struct {
	edge, tokenURL, clientID, clientSecret, doctors, caFile, open, from string
	eventsListen, eventsURL, eventsSecret                               string
	eventsFor                                                           time.Duration
}

// runPartner does the whole session and writes what it sees to w; with events, it
// then waits for them until eventsFor has passed or ctx ends (Ctrl-C), and returns nil.
func runPartner(ctx context.Context, o partnerOptions, w io.Writer) error {
	if o.edge == "" || o.tokenURL == "" || o.clientID == "" || o.clientSecret == "" || o.doctors == "" {
		return errors.New("-edge, -token-url, -client-id, -client-secret (or HEALTHCORE_CLIENT_SECRET) and -doctor-id are required")
	}
	out := &lockedWriter{w: w} // events are printed as they come, beside the week
	session, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	roots, err := trustedRoots(o.caFile)
	if err != nil {
		return err
	}
	tlsConfig := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	tokens := &clientCredentials{url: o.tokenURL, id: o.clientID, secret: o.clientSecret,
		http: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig}}}
	if _, err := tokens.token(session); err != nil {
		return err
	}
	fmt.Fprintf(out, "token: scope %q, valid %s\n", tokens.scope, time.Until(tokens.expiry).Round(time.Minute))

	conn, err := dialEdge(o.edge, tlsConfig, tokens)
	if err != nil {
		return err
	}
	defer conn.Close()
	scheduling := schedulingv1.NewSchedulingServiceClient(conn)
	var events *http.Server
	if o.eventsListen != "" {
		if events, err = receiveEvents(session, clinicsv1.NewClinicsServiceClient(conn), o, out); err != nil {
			return err
		}
		defer events.Close()
	}

	from := time.Now().UTC().Truncate(24 * time.Hour)
	if o.from != "" {
		if from, err = time.Parse(time.DateOnly, o.from); err != nil {
			return fmt.Errorf("-from: %w", err)
		}
	}
	to := from.AddDate(0, 0, 7)
	doctors := strings.Split(o.doctors, ",")
	if o.open != "" {
		if err := openWeek(session, scheduling, doctors[0], o.open, out); err != nil {
			return err
		}
	}
	for _, doctor := range doctors {
		if err := printWeek(session, scheduling, strings.TrimSpace(doctor), from, to, out); err != nil {
			return err
		}
	}
	if events == nil {
		return nil
	}
	wait, stop := ctx, context.CancelFunc(func() {})
	if o.eventsFor > 0 {
		wait, stop = context.WithTimeout(ctx, o.eventsFor)
	}
	defer stop()
	fmt.Fprintln(out, "events: waiting (Ctrl-C ends)")
	<-wait.Done()
	shutdown, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	return events.Shutdown(shutdown) // lets an event being printed finish
}

// receiveEvents listens on o.eventsListen, registers the listener's public URL as the
// clinic's event endpoint for every event type, and serves an EventReceiver that
// prints each verified event to out.
func receiveEvents(ctx context.Context, c clinicsv1.ClinicsServiceClient, o partnerOptions, out io.Writer) (*http.Server, error) {
	ln, err := net.Listen("tcp", o.eventsListen)
	if err != nil {
		return nil, fmt.Errorf("-events-listen: %w", err)
	}
	endpointURL := o.eventsURL
	if endpointURL == "" {
		endpointURL = "http://" + ln.Addr().String() + "/"
	}
	secret, err := eventEndpoint(ctx, c, endpointURL, o.eventsSecret, out)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: &EventReceiver{
		Secrets: []string{secret},
		Handle: func(_ context.Context, ev *clinicsv1.PartnerEvent) error {
			fmt.Fprintf(out, "event %s appointment %s sequence %d state %s\n", strings.TrimPrefix(ev.GetType().String(), "EVENT_TYPE_"),
				ev.GetAppointmentId(), ev.GetSequence(), strings.TrimPrefix(ev.GetState().String(), "APPOINTMENT_STATE_"))
			return nil
		},
	}}
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// eventEndpoint returns the signing secret of the clinic's endpoint at url: secret
// when the endpoint exists and it is given; otherwise a new one, printed this once —
// the endpoint's, created for every event type, or a rotated one (the old secret then
// signs beside it for a day).
func eventEndpoint(ctx context.Context, c clinicsv1.ClinicsServiceClient, endpointURL, secret string, out io.Writer) (string, error) {
	list, err := c.ListEventEndpoints(ctx, &clinicsv1.ListEventEndpointsRequest{})
	if err != nil {
		return "", fmt.Errorf("list the event endpoints: %w", err)
	}
	for _, e := range list.GetEndpoints() {
		if e.GetUrl() != endpointURL {
			continue
		}
		if secret != "" {
			fmt.Fprintf(out, "events: endpoint %s at %s, its secret from HEALTHCORE_EVENTS_SECRET\n", e.GetEndpointId(), endpointURL)
			return secret, nil
		}
		rotated, err := c.RotateEventEndpointSecret(ctx, &clinicsv1.RotateEventEndpointSecretRequest{EndpointId: e.GetEndpointId()})
		if err != nil {
			return "", fmt.Errorf("rotate the secret of %s: %w", e.GetEndpointId(), err)
		}
		fmt.Fprintf(out, "events: endpoint %s at %s, new signing secret (shown once) %s\n", e.GetEndpointId(), endpointURL, rotated.GetSigningSecret())
		return rotated.GetSigningSecret(), nil
	}
	var types []clinicsv1.EventType
	for t := range clinicsv1.EventType_name {
		if t != 0 {
			types = append(types, clinicsv1.EventType(t))
		}
	}
	slices.Sort(types)
	created, err := c.CreateEventEndpoint(ctx, &clinicsv1.CreateEventEndpointRequest{Url: endpointURL, Types: types})
	if err != nil {
		return "", fmt.Errorf("register the event endpoint %s: %w", endpointURL, err)
	}
	fmt.Fprintf(out, "events: endpoint %s at %s created, signing secret (shown once) %s\n", created.GetEndpoint().GetEndpointId(), endpointURL, created.GetSigningSecret())
	return created.GetSigningSecret(), nil
}

// lockedWriter serialises the lines of the session and of the event receiver.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// openWeek replaces the doctor's availability with window ("09:00-17:00") Monday to
// Friday, in slots of the doctor's consultation length.
func openWeek(ctx context.Context, c schedulingv1.SchedulingServiceClient, doctorID, window string, out io.Writer) error {
	start, end, ok := strings.Cut(window, "-")
	if !ok {
		return fmt.Errorf("-open %q: want HH:MM-HH:MM", window)
	}
	var weekly []*schedulingv1.WeeklyWindow
	for d := schedulingv1.Weekday_WEEKDAY_MONDAY; d <= schedulingv1.Weekday_WEEKDAY_FRIDAY; d++ {
		weekly = append(weekly, &schedulingv1.WeeklyWindow{Weekday: d, StartTime: start, EndTime: end})
	}
	resp, err := c.SetDoctorAvailability(ctx, &schedulingv1.SetDoctorAvailabilityRequest{
		DoctorId: doctorID, Availability: &schedulingv1.Availability{Weekly: weekly, GapMinutes: 10}})
	if err != nil {
		return fmt.Errorf("set the availability of %s: %w", doctorID, err)
	}
	fmt.Fprintf(out, "availability %s: Monday-Friday %s (%s): %d slots created, %d removed, %d conflicts\n", doctorID, window,
		resp.GetTimeZone(), resp.GetSlotsCreated(), resp.GetSlotsRemoved(), len(resp.GetConflicts()))
	return nil
}

// printWeek prints the doctor's agenda and appointments in [from, to).
func printWeek(ctx context.Context, c schedulingv1.SchedulingServiceClient, doctorID string, from, to time.Time, out io.Writer) error {
	agenda, err := c.GetDoctorAgenda(ctx, &schedulingv1.GetDoctorAgendaRequest{
		DoctorId: doctorID, StartTime: timestamppb.New(from), EndTime: timestamppb.New(to)})
	if err != nil {
		return fmt.Errorf("the agenda of %s: %w", doctorID, err)
	}
	count := map[schedulingv1.SlotStatus]int{}
	for _, s := range agenda.GetSlots() {
		count[s.GetStatus()]++
	}
	fmt.Fprintf(out, "agenda %s %s..%s (%s): %d slots, %d open, %d blocked, %d booked\n", doctorID, from.Format(time.DateOnly),
		to.Format(time.DateOnly), agenda.GetTimeZone(), len(agenda.GetSlots()), count[schedulingv1.SlotStatus_SLOT_STATUS_OPEN],
		count[schedulingv1.SlotStatus_SLOT_STATUS_BLOCKED], count[schedulingv1.SlotStatus_SLOT_STATUS_BOOKED])
	req := &schedulingv1.ListDoctorAppointmentsRequest{DoctorId: doctorID, StartTime: timestamppb.New(from), EndTime: timestamppb.New(to), PageSize: 100}
	for {
		page, err := c.ListDoctorAppointments(ctx, req)
		if err != nil {
			return fmt.Errorf("the appointments of %s: %w", doctorID, err)
		}
		for _, a := range page.GetAppointments() {
			line := fmt.Sprintf("appointment %s %s %s patient %s", a.GetId(), a.GetStartTime().AsTime().Format(time.RFC3339),
				strings.TrimPrefix(a.GetState().String(), "APPOINTMENT_STATE_"), a.GetPatientFirstName())
			if a.GetAnswerDeadline() != nil {
				line += " answer by " + a.GetAnswerDeadline().AsTime().Format(time.RFC3339)
			}
			fmt.Fprintln(out, line)
		}
		if page.GetNextPageToken() == "" {
			return nil
		}
		req.PageToken = page.GetNextPageToken()
	}
}

// trustedRoots reads the CA file, or answers nil (the system's roots).
func trustedRoots(caFile string) (*x509.CertPool, error) {
	if caFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
	}
	return pool, nil
}

// dialEdge connects to the edge: TLS for https, cleartext HTTP/2 for http (a local
// stack); every call carries the current access token.
func dialEdge(edge string, tlsConfig *tls.Config, tokens *clientCredentials) (*grpc.ClientConn, error) {
	u, err := url.Parse(edge)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("-edge %q: want https://host:port", edge)
	}
	creds := insecure.NewCredentials()
	switch u.Scheme {
	case "https":
		creds = credentials.NewTLS(tlsConfig)
	case "http":
		tokens.insecure = true
	default:
		return nil, fmt.Errorf("-edge %q: the scheme must be https (or http on a local stack)", edge)
	}
	return grpc.NewClient(u.Host, grpc.WithTransportCredentials(creds), grpc.WithPerRPCCredentials(tokens))
}

// clientCredentials obtains access tokens with the client-credentials grant (RFC 6749
// section 4.4), the client authenticated by HTTP Basic (client_secret_basic), and asks
// again shortly before one expires. It is the gRPC per-call credential.
type clientCredentials struct {
	url, id, secret string
	http            *http.Client
	insecure        bool // the edge is cleartext (a local stack)

	mu     sync.Mutex
	access string
	scope  string
	expiry time.Time
}

// token returns a valid access token, asking the endpoint when the one held expires
// within a minute.
func (c *clientCredentials) token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.access != "" && time.Until(c.expiry) > time.Minute {
		return c.access, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Section 2.3.1: the id and secret are form-urlencoded before they are joined.
	req.SetBasicAuth(url.QueryEscape(c.id), url.QueryEscape(c.secret))
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("token endpoint: %w", err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken      string `json:"access_token"`
		ExpiresIn        int64  `json:"expires_in"`
		Scope            string `json:"scope"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil {
		return "", fmt.Errorf("token endpoint: %s: %w", resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: %s: %s: %s", resp.Status, body.Error, body.ErrorDescription)
	}
	c.access, c.scope = body.AccessToken, body.Scope
	c.expiry = time.Now().Add(time.Duration(body.ExpiresIn) * time.Second)
	return c.access, nil
}

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c *clientCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	tok, err := c.token(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials: the token goes
// only over TLS, but to a cleartext local stack when -edge says http.
func (c *clientCredentials) RequireTransportSecurity() bool { return !c.insecure }

package meetings

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Chime SDK Meetings' SigV4 signing name: the service's namespace is
// chime-sdk-meetings, but requests are signed for "chime".
const signingName = "chime"

// Defaults of the chime driver.
const (
	DefaultRegion      = "us-east-1" // a control region; sa-east-1 hosts media only
	DefaultMediaRegion = "sa-east-1"
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 4
	defaultRetryBase   = 200 * time.Millisecond
	defaultRetryMax    = 3 * time.Second
	maxResponseBytes   = 1 << 20
)

// ChimeConfig configures the chime driver. Credentials come from the SDK's default
// chain (environment, shared files, web identity, instance or task role) unless
// Credentials is set.
type ChimeConfig struct {
	// Region is the control region whose API endpoint creates and deletes meetings,
	// e.g. us-east-1. A meeting can only be changed through the region that created it.
	Region string
	// Endpoint replaces https://meetings-chime.<region>.amazonaws.com when set: a VPC
	// endpoint, or a test server.
	Endpoint string
	// Timeout bounds one HTTP attempt (0: DefaultTimeout).
	Timeout time.Duration
	// MaxAttempts bounds the attempts of one call, retries included (0:
	// DefaultMaxAttempts).
	MaxAttempts int
	// Credentials replaces the default credential chain when set.
	Credentials aws.CredentialsProvider
	// Transport carries the requests (nil: a transport of its own).
	Transport http.RoundTripper
}

// Chime is the production driver: Amazon Chime SDK Meetings' REST API, signed with
// SigV4 by hand (the SDK's chimesdkmeetings client module is not used). Throttling,
// 5xx answers and connection failures are retried with capped exponential backoff
// and jitter, within the caller's deadline; every operation is idempotent (a client
// request token, the attendee's external user id, reads and deletes), so a retry
// never makes a second meeting or attendee.
type Chime struct {
	base     *url.URL
	region   string
	creds    aws.CredentialsProvider
	signer   *v4.Signer
	client   *http.Client
	timeout  time.Duration
	attempts int
	// retryBase and retryMax shape the backoff; tests shorten them.
	retryBase, retryMax time.Duration
}

var _ Driver = (*Chime)(nil)

// Endpoint is the URL of the Chime API the driver calls, which the process probes to
// report Chime reachable or not on its ops listener.
func (c *Chime) Endpoint() string { return c.base.String() }

// NewChime returns the driver. It loads the AWS configuration but calls nothing: bad
// credentials show on the first request, which then fails with a logged cause.
func NewChime(ctx context.Context, c ChimeConfig) (*Chime, error) {
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = "https://meetings-chime." + c.Region + ".amazonaws.com"
	}
	base, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, fmt.Errorf("meetings: endpoint %q: %w", endpoint, err)
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(c.Region)}
	if c.Credentials != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(c.Credentials))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("meetings: load AWS configuration: %w", err)
	}
	if awsCfg.Credentials == nil {
		return nil, errors.New("meetings: no AWS credentials provider")
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &Chime{
		base: base, region: c.Region, creds: awsCfg.Credentials, signer: v4.NewSigner(),
		client: &http.Client{Transport: c.Transport}, timeout: c.Timeout, attempts: c.MaxAttempts,
		retryBase: defaultRetryBase, retryMax: defaultRetryMax,
	}, nil
}

// CreateMeeting implements Driver: POST /meetings.
func (c *Chime) CreateMeeting(ctx context.Context, req MeetingRequest) (Meeting, error) {
	in := createMeetingInput{
		ClientRequestToken: req.ClientRequestToken, ExternalMeetingID: req.ExternalMeetingID, MediaRegion: req.MediaRegion,
	}
	if req.MaxAttendees > 0 {
		in.MeetingFeatures = &meetingFeatures{Attendee: &attendeeFeatures{MaxCount: req.MaxAttendees}}
	}
	var out meetingOutput
	if err := c.call(ctx, "CreateMeeting", http.MethodPost, "/meetings", in, &out); err != nil {
		return Meeting{}, err
	}
	return parseMeeting(out.Meeting)
}

// CreateAttendee implements Driver: POST /meetings/{MeetingId}/attendees.
func (c *Chime) CreateAttendee(ctx context.Context, meetingID, externalUserID string) (Attendee, error) {
	if err := checkMeetingID(meetingID); err != nil {
		return Attendee{}, err
	}
	var out attendeeOutput
	err := c.call(ctx, "CreateAttendee", http.MethodPost, "/meetings/"+meetingID+"/attendees",
		createAttendeeInput{ExternalUserID: externalUserID}, &out)
	if err != nil {
		return Attendee{}, err
	}
	return parseAttendee(out.Attendee)
}

// GetMeeting implements Driver: GET /meetings/{MeetingId}.
func (c *Chime) GetMeeting(ctx context.Context, meetingID string) (Meeting, error) {
	if err := checkMeetingID(meetingID); err != nil {
		return Meeting{}, err
	}
	var out meetingOutput
	if err := c.call(ctx, "GetMeeting", http.MethodGet, "/meetings/"+meetingID, nil, &out); err != nil {
		return Meeting{}, err
	}
	return parseMeeting(out.Meeting)
}

// DeleteMeeting implements Driver: DELETE /meetings/{MeetingId}, answered 204.
func (c *Chime) DeleteMeeting(ctx context.Context, meetingID string) error {
	if err := checkMeetingID(meetingID); err != nil {
		return err
	}
	return c.call(ctx, "DeleteMeeting", http.MethodDelete, "/meetings/"+meetingID, nil, nil)
}

// call sends one operation, retrying transient failures, and decodes the answer into
// out (nil: none expected). Its errors wrap a driver error where one applies.
func (c *Chime) call(ctx context.Context, op, method, path string, in, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("meetings: chime %s: %w", op, err)
		}
	}
	for attempt := 1; ; attempt++ {
		err := c.send(ctx, method, path, body, out)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("meetings: chime %s: %w", op, ctx.Err())
		}
		if !retryable(err) || attempt >= c.attempts {
			return classify(op, attempt, err)
		}
		wait := c.backoff(attempt, retryAfter(err))
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
			// The caller cannot wait for the next attempt: say why now, not at the deadline.
			return classify(op, attempt, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("meetings: chime %s: %w", op, ctx.Err())
		case <-t.C:
		}
	}
}

// send makes one signed attempt. A failure to get an answer is a
// *smithyhttp.RequestSendError and an error answer an API error (see apiError), the
// shapes of the SDK's own errors, so platform/awserr classifies them.
func (c *Chime) send(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.base
	u.Path = c.base.Path + path
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), signingName, c.region, time.Now()); err != nil {
		return fmt.Errorf("sign request: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return &smithyhttp.RequestSendError{Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &smithyhttp.RequestSendError{Err: fmt.Errorf("read the answer: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return apiError(resp, data)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode the %d answer: %w", resp.StatusCode, err)
	}
	return nil
}

// backoff is the wait before attempt+1: exponential from retryBase, capped at
// retryMax, with the upper half jittered so that callers throttled together do not
// come back together; a longer Retry-After from the provider wins, up to retryMax.
func (c *Chime) backoff(attempt int, retryAfter time.Duration) time.Duration {
	d := c.retryBase << (attempt - 1)
	if d > c.retryMax || d <= 0 {
		d = c.retryMax
	}
	d = d/2 + jitter(d/2)
	if retryAfter > d {
		d = min(retryAfter, c.retryMax)
	}
	return d
}

// parseEndpoint checks an endpoint: absolute http(s), no path, query, fragment or
// credentials.
func parseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("want an absolute http(s) URL of a host, without path, query or credentials, e.g. https://meetings-chime.us-east-1.amazonaws.com")
	}
	u.Path = ""
	return u, nil
}

package sestest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"healthcore/platform/awstest"
)

// The credentials and region the fake accepts.
const (
	AccessKeyID     = "AKIDSESTEST"
	SecretAccessKey = "healthcore-ses-test-secret"
	Region          = "sa-east-1"
)

// Credentials returns a provider of the credentials the fake accepts.
func Credentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")
}

// Email is a message the fake accepted.
type Email struct {
	MessageID        string
	From             string
	To               []string
	Subject          string
	Text, HTML       string
	ConfigurationSet string
	Tags             map[string]string
}

// SES is the fake.
type SES struct {
	URL string

	mu       sync.Mutex
	emails   []Email
	rejected map[string]bool
	sigErrs  []error
}

// New starts the fake on loopback until t's cleanup.
func New(t testing.TB) *SES {
	f := &SES{rejected: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Reject makes SES refuse messages to addr with MessageRejected.
func (f *SES) Reject(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rejected[strings.ToLower(addr)] = true
}

// Emails returns the accepted messages, in order.
func (f *SES) Emails() []Email {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Email(nil), f.emails...)
}

// SignatureErrors returns why requests' signatures were refused.
func (f *SES) SignatureErrors() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]error(nil), f.sigErrs...)
}

type content struct {
	Data    string `json:"Data"`
	Charset string `json:"Charset"`
}

type sendEmailInput struct {
	FromEmailAddress string `json:"FromEmailAddress"`
	Destination      struct {
		ToAddresses []string `json:"ToAddresses"`
	} `json:"Destination"`
	Content struct {
		Simple *struct {
			Subject content `json:"Subject"`
			Body    struct {
				Text *content `json:"Text"`
				HTML *content `json:"Html"`
			} `json:"Body"`
		} `json:"Simple"`
	} `json:"Content"`
	ConfigurationSetName string `json:"ConfigurationSetName"`
	EmailTags            []struct {
		Name, Value string
	} `json:"EmailTags"`
}

func (f *SES) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		fail(w, http.StatusBadRequest, "BadRequestException", "unreadable body")
		return
	}
	creds := aws.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey}
	if _, err := awstest.VerifySigV4(r, body, creds, Region, "ses", time.Now()); err != nil {
		f.mu.Lock()
		f.sigErrs = append(f.sigErrs, err)
		f.mu.Unlock()
		fail(w, http.StatusForbidden, "SignatureDoesNotMatch", err.Error())
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v2/email/outbound-emails" {
		fail(w, http.StatusNotFound, "NotFoundException", "no such operation "+r.Method+" "+r.URL.Path)
		return
	}
	var in sendEmailInput
	if err := json.Unmarshal(body, &in); err != nil || in.Content.Simple == nil || len(in.Destination.ToAddresses) == 0 || in.FromEmailAddress == "" {
		fail(w, http.StatusBadRequest, "BadRequestException", "FromEmailAddress, Destination and Content.Simple are required")
		return
	}
	e := Email{From: in.FromEmailAddress, To: in.Destination.ToAddresses, Subject: in.Content.Simple.Subject.Data,
		ConfigurationSet: in.ConfigurationSetName, Tags: map[string]string{}}
	if t := in.Content.Simple.Body.Text; t != nil {
		e.Text = t.Data
	}
	if h := in.Content.Simple.Body.HTML; h != nil {
		e.HTML = h.Data
	}
	for _, tag := range in.EmailTags {
		e.Tags[tag.Name] = tag.Value
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, to := range e.To {
		addr, err := mail.ParseAddress(to)
		if err != nil {
			fail(w, http.StatusBadRequest, "BadRequestException", "invalid address "+to)
			return
		}
		if f.rejected[strings.ToLower(addr.Address)] {
			fail(w, http.StatusBadRequest, "MessageRejected", "Email address is on the suppression list: "+addr.Address)
			return
		}
	}
	e.MessageID = fmt.Sprintf("0100018c-%08d-ses-test", len(f.emails)+1)
	f.emails = append(f.emails, e)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": e.MessageID})
}

// fail answers an error the way SES v2's REST-JSON protocol does.
func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

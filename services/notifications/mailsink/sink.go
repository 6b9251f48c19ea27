package mailsink

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"time"

	"encoding/base64"

	"github.com/emersion/go-smtp"
)

// Message is a message the sink received, one per Message-ID and recipient.
type Message struct {
	// ID is the sink's own number for the message (its page is /dev/mail/{ID}).
	ID        int       `json:"id"`
	MessageID string    `json:"message_id"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Subject   string    `json:"subject"`
	Text      string    `json:"text"`
	HTML      string    `json:"html"`
	Time      time.Time `json:"time"`
	// Copies is how many times it arrived (more than 1: sent again with the same
	// Message-ID).
	Copies int `json:"copies"`
}

// Options configure a Sink.
type Options struct {
	// MaxMessages kept, the oldest dropped first (default 500).
	MaxMessages int
	// Now is the sink's clock (nil: time.Now).
	Now func() time.Time
}

// Sink is the SMTP server and its inbox.
type Sink struct {
	opts   Options
	server *smtp.Server
	addr   string

	mu       sync.Mutex
	messages []*Message
	next     int
	received int
	refuse   map[string]bool
}

// New listens on addr (e.g. 127.0.0.1:1025; ":0" picks a port) and serves SMTP until
// Close.
func New(addr string, opts Options) (*Sink, error) {
	if opts.MaxMessages <= 0 {
		opts.MaxMessages = 500
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mailsink: %w", err)
	}
	s := &Sink{opts: opts, addr: ln.Addr().String(), refuse: map[string]bool{}}
	s.server = smtp.NewServer(backend{s})
	s.server.Domain = "localhost"
	s.server.MaxMessageBytes = 10 << 20
	s.server.MaxRecipients = 50
	s.server.ReadTimeout = time.Minute
	s.server.WriteTimeout = time.Minute
	go func() { _ = s.server.Serve(ln) }()
	return s, nil
}

// Addr is where the SMTP server listens (host:port).
func (s *Sink) Addr() string { return s.addr }

// Close stops the server.
func (s *Sink) Close() error { return s.server.Close() }

// Refuse makes the server answer 550 (user unknown) to RCPT TO addr, as a mailbox that
// does not exist bounces.
func (s *Sink) Refuse(addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[strings.ToLower(addr)] = true
}

// Messages returns the inbox, newest first.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.messages))
	for i := len(s.messages) - 1; i >= 0; i-- {
		out = append(out, *s.messages[i])
	}
	return out
}

// Received counts the SMTP transactions accepted (copies included).
func (s *Sink) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// Get returns the message with the sink's id.
func (s *Sink) Get(id int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.ID == id {
			return *m, true
		}
	}
	return Message{}, false
}

func (s *Sink) store(from string, to []string, raw []byte) error {
	parsed, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "cannot parse the message: " + err.Error()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received++
	for _, rcpt := range to {
		if m := s.find(parsed.MessageID, rcpt); m != nil && parsed.MessageID != "" {
			m.Copies++
			continue
		}
		s.next++
		m := parsed
		m.ID, m.From, m.To, m.Time, m.Copies = s.next, from, rcpt, s.opts.Now(), 1
		s.messages = append(s.messages, &m)
		if len(s.messages) > s.opts.MaxMessages {
			s.messages = s.messages[1:]
		}
	}
	return nil
}

func (s *Sink) find(messageID, to string) *Message {
	for _, m := range s.messages {
		if m.MessageID == messageID && m.To == to {
			return m
		}
	}
	return nil
}

// parse reads a message's Message-ID, subject and its text and HTML parts.
func parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	dec := new(mime.WordDecoder)
	subject, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		subject = msg.Header.Get("Subject")
	}
	out := Message{MessageID: strings.Trim(msg.Header.Get("Message-Id"), "<>"), Subject: subject}
	return out, walk(&out, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

func walk(out *Message, contentType, encoding string, body io.Reader) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := walk(out, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n") // SMTP's line ends, shown as the sender wrote them
	switch mt {
	case "text/plain":
		out.Text = text
	case "text/html":
		out.HTML = text
	}
	return nil
}

type backend struct{ s *Sink }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Sink
	from string
	to   []string
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }
func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	refused := x.s.refuse[strings.ToLower(to)]
	x.s.mu.Unlock()
	if refused {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	return x.s.store(x.from, x.to, raw)
}

package meetings

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// DefaultLocalBaseURL is the Jitsi Meet deployment the local driver sends people to
// when meetings.local-base-url is not set: the public meet.jit.si, fine for trying the
// platform (its first participant signs in to open a room). A clinic sets its own
// self-hosted Jitsi instead; real consultations never go through a public server.
const DefaultLocalBaseURL = "https://meet.jit.si"

// meetingLifetime is how long a meeting lives at most, as at Chime (24 hours after
// creation).
const meetingLifetime = 24 * time.Hour

// roomNameBytes is the HMAC prefix a room name carries: 160 bits, so rooms cannot be
// guessed or enumerated.
const roomNameBytes = 20

// roomEncoding writes room names in lowercase base32 (a–z, 2–7): URL-safe, and
// unchanged by Jitsi, which treats room names case-insensitively (mixed-case
// base64 would lose entropy there, and two rooms could meet).
var roomEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// LocalConfig configures the local driver.
type LocalConfig struct {
	// BaseURL is the Jitsi Meet deployment rooms are opened on ("": DefaultLocalBaseURL).
	BaseURL string
	// Secret keys the room names (nil: 32 random bytes, new at every start).
	Secret []byte
	// Now is the clock meetings expire by (nil: time.Now).
	Now func() time.Time
}

// Local is the development driver: no cloud account, and a meeting people can really
// join — a Jitsi Meet room. A meeting's room name is HMAC-SHA256(secret, meeting id),
// so every attendee gets the same room without the room being stored, and a meeting
// id seen in a log does not reveal the room. Meetings themselves (external id, region,
// attendees, token) live in this process's memory: after a restart they are gone and
// answer ErrMeetingNotFound, as a Chime meeting does once it ends, which callers must
// handle anyway. It is not for production.
type Local struct {
	base   *url.URL
	secret []byte
	now    func() time.Time

	mu       sync.Mutex
	meetings map[string]*localMeeting // by meeting id
	byToken  map[string]string        // client request token → meeting id
}

type localMeeting struct {
	meeting   Meeting
	token     string
	created   time.Time
	attendees map[string]Attendee // by external user id
}

var _ Driver = (*Local)(nil)

// NewLocal returns the driver.
func NewLocal(c LocalConfig) (*Local, error) {
	if c.BaseURL == "" {
		c.BaseURL = DefaultLocalBaseURL
	}
	base, err := parseLocalBaseURL(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("meetings: local base URL %q: %w", c.BaseURL, err)
	}
	if c.Secret == nil {
		c.Secret = make([]byte, 32)
		if _, err := rand.Read(c.Secret); err != nil {
			return nil, err
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return &Local{
		base: base, secret: c.Secret, now: c.Now,
		meetings: map[string]*localMeeting{}, byToken: map[string]string{},
	}, nil
}

// CreateMeeting implements Driver.
func (l *Local) CreateMeeting(_ context.Context, req MeetingRequest) (Meeting, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.forgetEnded(now)
	if id, ok := l.byToken[req.ClientRequestToken]; ok {
		return l.meetings[id].meeting, nil
	}
	id := uuid.NewString()
	features := &meetingFeatures{Attendee: &attendeeFeatures{MaxCount: req.MaxAttendees}}
	if req.MaxAttendees <= 0 {
		features = nil
	}
	raw, err := json.Marshal(chimeMeeting{
		MeetingID: id, ExternalMeetingID: req.ExternalMeetingID, MediaRegion: req.MediaRegion, MeetingFeatures: features,
	})
	if err != nil {
		return Meeting{}, err
	}
	m := Meeting{
		ID: id, ExternalMeetingID: req.ExternalMeetingID, MediaRegion: req.MediaRegion,
		MaxAttendees: max(req.MaxAttendees, 0), JoinURL: l.roomURL(id), JSON: raw,
	}
	l.meetings[id] = &localMeeting{meeting: m, token: req.ClientRequestToken, created: now, attendees: map[string]Attendee{}}
	l.byToken[req.ClientRequestToken] = id
	return m, nil
}

// CreateAttendee implements Driver. It does not enforce MaxAttendees, which at Chime
// too limits who is in the meeting at once, not who may be admitted.
func (l *Local) CreateAttendee(_ context.Context, meetingID, externalUserID string) (Attendee, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lm, err := l.live(meetingID)
	if err != nil {
		return Attendee{}, err
	}
	if a, ok := lm.attendees[externalUserID]; ok {
		return a, nil
	}
	id := uuid.NewString()
	raw, err := json.Marshal(chimeAttendee{AttendeeID: id, ExternalUserID: externalUserID})
	if err != nil {
		return Attendee{}, err
	}
	a := Attendee{ID: id, ExternalUserID: externalUserID, JoinURL: lm.meeting.JoinURL, JSON: raw}
	lm.attendees[externalUserID] = a
	return a, nil
}

// GetMeeting implements Driver.
func (l *Local) GetMeeting(_ context.Context, meetingID string) (Meeting, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lm, err := l.live(meetingID)
	if err != nil {
		return Meeting{}, err
	}
	return lm.meeting, nil
}

// DeleteMeeting implements Driver. The Jitsi room itself stays open to whoever is in
// it (the local driver has no hold on the Jitsi server); the meeting is gone for us.
func (l *Local) DeleteMeeting(_ context.Context, meetingID string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	lm, err := l.live(meetingID)
	if err != nil {
		return err
	}
	l.forget(meetingID, lm)
	return nil
}

// live returns a meeting that exists and has not ended; l.mu is held.
func (l *Local) live(meetingID string) (*localMeeting, error) {
	lm, ok := l.meetings[meetingID]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrMeetingNotFound, meetingID)
	}
	if !l.now().Before(lm.created.Add(meetingLifetime)) {
		l.forget(meetingID, lm)
		return nil, fmt.Errorf("%w: %q ended 24 hours after it was created", ErrMeetingNotFound, meetingID)
	}
	return lm, nil
}

// forgetEnded drops meetings past their lifetime, so memory holds at most a day of
// meetings; l.mu is held.
func (l *Local) forgetEnded(now time.Time) {
	for id, lm := range l.meetings {
		if !now.Before(lm.created.Add(meetingLifetime)) {
			l.forget(id, lm)
		}
	}
}

func (l *Local) forget(id string, lm *localMeeting) {
	delete(l.meetings, id)
	if l.byToken[lm.token] == id {
		delete(l.byToken, lm.token)
	}
}

// roomName is the meeting's Jitsi room: the first roomNameBytes of
// HMAC-SHA256(secret, meeting id), in lowercase base32 (32 characters).
func (l *Local) roomName(meetingID string) string {
	mac := hmac.New(sha256.New, l.secret)
	mac.Write([]byte("healthcore meeting room\x00" + meetingID))
	return roomEncoding.EncodeToString(mac.Sum(nil)[:roomNameBytes])
}

func (l *Local) roomURL(meetingID string) string {
	return l.base.JoinPath(l.roomName(meetingID)).String()
}

// parseLocalBaseURL checks a Jitsi base URL: absolute http(s), a path allowed (Jitsi
// served under a prefix), no query, fragment or credentials.
func parseLocalBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("want an absolute http(s) URL without query, fragment or credentials, e.g. https://meet.clinic.example")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}

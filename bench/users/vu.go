package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Route names: one row of the table each. A request is named by what it does, not by
// its URL (which holds ids).
const (
	routeSearch       = "GET /v1/doctors (search)"
	routeProfile      = "GET /v1/doctors/{id}"
	routeSlots        = "GET /v1/doctors/{id}/slots (a week)"
	routeAppointments = "GET /v1/appointments"
	routeMe           = "GET /v1/me"
	routeRecords      = "GET /v1/records/documents"
	routeBook         = "POST /v1/appointments"
	routePayment      = "GET /v1/appointments/{id}/payment"
	routeDownload     = "GET /v1/records/documents/{id}:download"
	routeRefresh      = "POST /v1/auth/refresh"
	routeLogin        = "POST /v1/auth/login"
	// routeTimeToQR is not a request: the time from a booking's scheduled start to the
	// first answer that carries the payment's QR code.
	routeTimeToQR = "time to QR code (booking → QR)"
)

// user is one virtual user: a patient account with its own tokens and its own
// keep-alive connection to one gateway.
type user struct {
	w         *worker
	n         int
	accountID string
	email     string
	password  string
	document  string
	access    string
	accessExp time.Time
	refresh   string
	rotated   bool // refresh changed since it was loaded: written back at the end
	base      string
	client    *http.Client
	rng       *rand.Rand
	// etags keeps the ETag of each public URL read (a few at most, like an app's
	// cache), and slots the free slot ids of the last week of slots read.
	etags map[string]cached
	slots []string
	// spot is where the user searches from, as an offset (degrees of latitude and
	// longitude) from the centre of the city searched.
	spot [2]float64
	// actionAt is the scheduled start of the action under way: its requests count when
	// it lies in the measurement window, whenever they are sent.
	actionAt time.Time
}

// record counts a request of the action under way (or its time to QR).
func (u *user) record(name string, d time.Duration, expected bool, err error) {
	u.w.record(u.actionAt, name, d, expected, err)
}

// cached is the validator of a public answer and, for a week of slots, its slot ids.
type cached struct {
	etag  string
	slots []string
}

// answer is a request's outcome: status and body, or a transport error.
type answer struct {
	status int
	body   []byte
	header http.Header
}

// reason is the ErrorInfo reason of an error answer ("" if none).
func (a answer) reason() string {
	var e struct {
		Reason  string `json:"reason"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	}
	_ = json.Unmarshal(a.body, &e)
	if e.Reason != "" {
		return e.Reason
	}
	for _, d := range e.Details {
		if d.Reason != "" {
			return d.Reason
		}
	}
	return ""
}

// call sends one request and reads its answer: the whole body when keep is set or the
// status is not 2xx (an error's reason), else the body is read to its end and dropped,
// so the connection is kept, without holding it. ifNoneMatch, if set, is sent as
// If-None-Match.
func (u *user) call(ctx context.Context, method, path, token string, body any, ifNoneMatch string, keep bool) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.base+path, rd)
	if err != nil {
		return answer{}, err
	}
	if body != nil {
		req.Header["Content-Type"] = []string{"application/json"}
	}
	if token != "" {
		req.Header["Authorization"] = []string{"Bearer " + token}
	}
	if ifNoneMatch != "" {
		req.Header["If-None-Match"] = []string{ifNoneMatch}
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, header: resp.Header}
	if keep || a.status/100 != 2 {
		a.body, err = io.ReadAll(resp.Body)
	} else {
		_, err = io.Copy(io.Discard, resp.Body)
	}
	if err != nil {
		return answer{}, err
	}
	return a, nil
}

// errStatus is an answer the action did not expect.
func errStatus(a answer) error {
	return fmt.Errorf("HTTP %d: %.200s", a.status, strings.TrimSpace(string(a.body)))
}

// measured sends a request as route, recording its latency from t0 (the scheduled
// start of the action, for its first request) and whether the answer was one of ok
// (statuses the action expects besides 2xx; a reason after the status, "400
// SLOT_TAKEN", narrows it).
func (u *user) measured(ctx context.Context, t0 time.Time, name, method, path, token string, body any, ifNoneMatch string, keep bool, ok ...string) (answer, error) {
	a, err := u.call(ctx, method, path, token, body, ifNoneMatch, keep)
	d := time.Since(t0)
	if err != nil {
		u.record(name, d, false, err)
		return a, err
	}
	if a.status/100 == 2 {
		u.record(name, d, false, nil)
		return a, nil
	}
	for _, o := range ok {
		status, reason, _ := strings.Cut(o, " ")
		if status == fmt.Sprint(a.status) && (reason == "" || reason == a.reason()) {
			u.record(name, d, true, nil)
			return a, nil
		}
	}
	err = errStatus(a)
	u.record(name, d, false, err)
	return a, err
}

// token returns an access token valid for a while yet, refreshing the session (or,
// if the refresh is refused, logging in) as an app does before its token expires.
func (u *user) token(ctx context.Context) (string, error) {
	if u.access != "" && time.Until(u.accessExp) > u.w.cfg.RefreshBefore {
		return u.access, nil
	}
	if u.refresh != "" {
		t0 := time.Now()
		a, err := u.call(ctx, "POST", "/v1/auth/refresh", "", map[string]string{"refreshToken": u.refresh}, "", true)
		switch {
		case err != nil:
			u.record(routeRefresh, time.Since(t0), false, err)
			return "", err
		case a.status == http.StatusOK:
			u.record(routeRefresh, time.Since(t0), false, nil)
			return u.takeTokens(a.body)
		case a.status == http.StatusUnauthorized:
			// A refresh token that is no longer valid (the session ended, or a run was cut
			// before it wrote its rotation back): log in, as an app does.
			u.record(routeRefresh, time.Since(t0), true, nil)
		default:
			err := errStatus(a)
			u.record(routeRefresh, time.Since(t0), false, err)
			return "", err
		}
	}
	t0 := time.Now()
	a, err := u.call(ctx, "POST", "/v1/auth/login", "", map[string]string{"email": u.email, "password": u.password}, "", true)
	if err == nil && a.status != http.StatusOK {
		err = errStatus(a)
	}
	u.record(routeLogin, time.Since(t0), false, err)
	if err != nil {
		return "", err
	}
	return u.takeTokens(a.body)
}

type tokenAnswer struct {
	Tokens struct {
		AccessToken           string    `json:"accessToken"`
		AccessTokenExpireTime time.Time `json:"accessTokenExpireTime"`
		RefreshToken          string    `json:"refreshToken"`
	} `json:"tokens"`
	Account struct {
		ID string `json:"id"`
	} `json:"account"`
}

func (u *user) takeTokens(body []byte) (string, error) {
	var t tokenAnswer
	if err := json.Unmarshal(body, &t); err != nil {
		return "", err
	}
	if t.Tokens.AccessToken == "" || t.Tokens.RefreshToken == "" {
		return "", errors.New("an answer without tokens")
	}
	u.access, u.accessExp, u.refresh, u.rotated = t.Tokens.AccessToken, t.Tokens.AccessTokenExpireTime, t.Tokens.RefreshToken, true
	return u.access, nil
}

// public reads a public URL as an app with a cache does: If-None-Match with the ETag it
// kept, 304 counted as success. It returns the answer's slot ids for a week of slots
// (from the cache on a 304).
func (u *user) public(ctx context.Context, t0 time.Time, name, path string) ([]string, error) {
	c := u.etags[path]
	// Only a week of slots is read: of the others the app's cache keeps the ETag.
	a, err := u.measured(ctx, t0, name, "GET", path, "", nil, c.etag, name == routeSlots, "304")
	if err != nil {
		return nil, err
	}
	if a.status == http.StatusNotModified {
		return c.slots, nil
	}
	c = cached{etag: a.header.Get("ETag")}
	if name == routeSlots {
		var out struct {
			Slots []struct {
				ID string `json:"id"`
			} `json:"slots"`
		}
		if err := json.Unmarshal(a.body, &out); err != nil {
			return nil, err
		}
		for _, s := range out.Slots {
			c.slots = append(c.slots, s.ID)
		}
	}
	if c.etag != "" || c.slots != nil {
		if len(u.etags) >= 4 { // an app's small cache: forget one
			for k := range u.etags {
				delete(u.etags, k)
				break
			}
		}
		u.etags[path] = c
	}
	return c.slots, nil
}

// Users search from where they are: each from its own point, up to searchSpread
// degrees (about 5.5 km) north or south and east or west of the city's centre, to 4
// decimals (about 11 m), as an app sends the phone's location. So a search's URL is the
// user's own (an edge cache serves it again only to that user), not one of the few
// cities' centres that every user would share.
const searchSpread = 0.05

// searchPath is the URL of the user's search for d's specialty in d's city.
func (u *user) searchPath(d doctor) string {
	b := make([]byte, 0, len(d.searchPrefix)+48)
	b = append(b, d.searchPrefix...)
	b = append(b, "&point.latitude="...)
	b = strconv.AppendFloat(b, d.cityLat+u.spot[0], 'f', 4, 64)
	b = append(b, "&point.longitude="...)
	b = strconv.AppendFloat(b, d.cityLng+u.spot[1], 'f', 4, 64)
	return string(b)
}

// act runs one action of the mix, scheduled at t0. It returns when the user saw the QR
// code of a booking that waited for it (the zero time for every other action): the
// user's think time starts there, not at the booking's send.
func (u *user) act(ctx context.Context, action string, t0 time.Time) (shown time.Time) {
	u.actionAt = t0
	d := u.w.doctors[u.rng.IntN(len(u.w.doctors))]
	switch action {
	case "search":
		_, _ = u.public(ctx, t0, routeSearch, u.searchPath(d))
	case "profile":
		_, _ = u.public(ctx, t0, routeProfile, d.profilePath)
	case "slots":
		u.slots, _ = u.public(ctx, t0, routeSlots, u.weekOfSlots(d.id))
	case "appointments":
		u.read(ctx, t0, routeAppointments, "/v1/appointments")
	case "me":
		u.read(ctx, t0, routeMe, "/v1/me")
	case "records":
		u.read(ctx, t0, routeRecords, "/v1/records/documents")
	case "download":
		u.read(ctx, t0, routeDownload, "/v1/records/documents/"+u.document+":download")
	case "book":
		return u.book(ctx, d.id, t0)
	}
	return time.Time{}
}

// read is an authenticated read whose answer the user does not look into.
func (u *user) read(ctx context.Context, t0 time.Time, name, path string) {
	tok, err := u.token(ctx)
	if err != nil {
		return // recorded as the refresh's or login's error
	}
	_, _ = u.measured(ctx, t0, name, "GET", path, tok, nil, "", false)
}

// weekOfSlots is the URL of a week of a doctor's slots as the app asks for it: from the
// next hour (plus the booking lead) on, in one of the next three weeks; the same URL
// for an hour, so its ETag can match.
func (u *user) weekOfSlots(doctor string) string {
	from := time.Now().UTC().Truncate(time.Hour).Add(2*time.Hour).AddDate(0, 0, 7*u.rng.IntN(3))
	q := url.Values{"startTime": {from.Format(time.RFC3339)}, "endTime": {from.AddDate(0, 0, 7).Format(time.RFC3339)}}
	return "/v1/doctors/" + doctor + "/slots?" + q.Encode()
}

// book books a random free slot of the last week of slots the user read (reading a
// week of a doctor first when it has none), then reads the payment until it carries
// the QR code. Answers the booking expects besides 200: 400 SLOT_TAKEN / SLOT_BOOKED
// (someone else was faster), 400 PATIENT_BUSY (an overlapping booking of the user's
// own), 400 TOO_LATE_TO_BOOK / SLOT_PAST (the week was read a while ago), 404
// SLOT_NOT_FOUND (the agenda was regenerated since). It returns when the wait for the
// QR code ended (the zero time when there was none).
func (u *user) book(ctx context.Context, doctor string, t0 time.Time) time.Time {
	tok, err := u.token(ctx)
	if err != nil {
		return time.Time{}
	}
	if len(u.slots) == 0 {
		if u.slots, err = u.public(ctx, t0, routeSlots, u.weekOfSlots(doctor)); err != nil || len(u.slots) == 0 {
			return time.Time{}
		}
		t0 = time.Now()
	}
	i := u.rng.IntN(len(u.slots))
	slot := u.slots[i]
	u.slots = append(u.slots[:i:i], u.slots[i+1:]...)
	a, err := u.measured(ctx, t0, routeBook, "POST", "/v1/appointments", tok,
		map[string]string{"slotId": slot, "idempotencyKey": uuid.NewString(), "reason": "consulta de rotina"}, "", true,
		"400 SLOT_TAKEN", "400 SLOT_BOOKED", "400 PATIENT_BUSY", "400 TOO_LATE_TO_BOOK", "400 SLOT_PAST", "404 SLOT_NOT_FOUND")
	if err != nil || a.status != http.StatusOK {
		return time.Time{}
	}
	var booked struct {
		Appointment struct {
			ID string `json:"id"`
		} `json:"appointment"`
		Payment *payment `json:"payment"`
	}
	if err := json.Unmarshal(a.body, &booked); err != nil {
		u.record(routeTimeToQR, time.Since(t0), false, fmt.Errorf("booking answer: %w", err))
		return time.Time{}
	}
	if booked.Payment != nil && booked.Payment.QRCode != "" { // the charge made within the booking
		u.record(routeTimeToQR, time.Since(t0), false, nil)
		return time.Time{}
	}
	known := ""
	if booked.Payment != nil {
		known = booked.Payment.Status
	}
	u.awaitQR(ctx, t0, booked.Appointment.ID, tok, known)
	return time.Now()
}

type payment struct {
	Status string `json:"status"`
	QRCode string `json:"qrCode"`
}

// qrWait bounds how long the booking's QR code may take before it counts as an error.
const qrWait = 30 * time.Second

// awaitQR reads the appointment's payment until it carries the QR code, asking the
// server to hold the answer while the status is still the one known (wait=…&
// knownStatus=…, a long-poll; known is the status the booking's answer gave, if any);
// a server that answers at once (no long-poll: the parameters are ignored) is asked
// again after a short pause. 404 (the payment not recorded yet) is expected meanwhile.
func (u *user) awaitQR(ctx context.Context, t0 time.Time, appointment, tok, known string) {
	deadline := t0.Add(qrWait)
	for time.Now().Before(deadline) {
		q := url.Values{"wait": {"10s"}}
		if known != "" {
			q.Set("knownStatus", known)
		}
		sent := time.Now()
		a, err := u.measured(ctx, sent, routePayment, "GET", "/v1/appointments/"+appointment+"/payment?"+q.Encode(), tok, nil, "", true, "404")
		if err != nil {
			u.record(routeTimeToQR, time.Since(t0), false, err)
			return
		}
		var out struct {
			Payment payment `json:"payment"`
		}
		_ = json.Unmarshal(a.body, &out)
		if out.Payment.QRCode != "" {
			u.record(routeTimeToQR, time.Since(t0), false, nil)
			return
		}
		if out.Payment.Status != "" {
			known = out.Payment.Status
		}
		if time.Since(sent) < time.Second { // answered at once: pause before asking again
			select {
			case <-ctx.Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	u.record(routeTimeToQR, time.Since(t0), false, fmt.Errorf("no QR code %s after booking", qrWait))
}

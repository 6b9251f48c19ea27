package e2e

import (
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	collectorv1 "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"

	"healthcore/platform/tracing/otlpsink"
)

// TestMultiProcess_OneTraceFromTheEdgeToThePIXProviderAndTheSagasJobs runs the booking
// journey (register, book, pay in the PIX sandbox, the doctor accepts) with every
// process exporting its spans over OTLP/HTTP to a receiver in this test, then reads the
// traces: the booking is one trace from the edge through scheduling; its charge, made
// by the saga's ensure_payment job, is a trace linked to it that goes through payments,
// identity and pix to the provider; the saga's River jobs are linked to the requests
// that enqueued them and their calls continue in their own spans; and no span holds the
// journey's personal data.
func TestMultiProcess_OneTraceFromTheEdgeToThePIXProviderAndTheSagasJobs(t *testing.T) {
	rx := startOTLPReceiver(t)
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100") // export within 100 ms, not 5 s
	s := startStack(t, "-otel-exporter=otlp-http", "-otel-endpoint="+rx.url, "-otel-sample-ratio=1")

	const (
		doctorName, doctorEmail = "Dra. Beatriz Trace", "beatriz.trace@clinica.com.br"
		patientEmail, nine      = "maria.trace@example.com", "390533447"
		reason                  = "palpitações há uma semana" // the book helper's reason
	)
	doctorID, doctor := s.openDoctor(doctorName, "778899", doctorEmail, 25000, 0, 10)
	maria := s.loginPatient(patientEmail, nine)
	from := time.Now().Add(2 * time.Hour)
	var slots slotsJSON
	s.rest("GET", "/v1/doctors/"+doctorID+"/slots"+rangeQuery(from, from.Add(72*time.Hour)), "", nil, &slots)
	if len(slots.Slots) == 0 {
		t.Fatal("no free slot")
	}

	var booked bookingJSON
	code, h := s.rest("POST", "/v1/appointments", maria, map[string]string{
		"slotId": slots.Slots[0].ID, "idempotencyKey": "maria-traced", "reason": reason,
	}, &booked)
	if code != http.StatusOK || booked.Payment == nil {
		t.Fatalf("book: HTTP %d %+v", code, booked)
	}
	bookTrace := h.Get("Trace-Id")
	if len(bookTrace) != 32 || !strings.HasPrefix(h.Get("traceresponse"), "00-"+bookTrace+"-") {
		t.Fatalf("book answered Trace-Id %q, traceresponse %q", bookTrace, h.Get("traceresponse"))
	}
	apptID := booked.Appointment.ID
	s.pay(maria, apptID, true)
	s.waitState(maria, apptID, "APPOINTMENT_STATE_AWAITING_DOCTOR")
	code, h = s.rest("POST", "/v1/appointments/"+apptID+":accept", doctor, map[string]string{}, nil)
	if code != http.StatusOK {
		t.Fatalf("accept: HTTP %d", code)
	}
	acceptTrace := h.Get("Trace-Id")

	// An error body names its trace too.
	var e struct{ TraceID string }
	code, h = s.rest("GET", "/v1/appointments/00000000-0000-0000-0000-000000000000", maria, nil, &e)
	if code != http.StatusNotFound || e.TraceID == "" || e.TraceID != h.Get("Trace-Id") {
		t.Errorf("error answer: HTTP %d, traceId %q, Trace-Id %q: want 404 naming its trace in both", code, e.TraceID, h.Get("Trace-Id"))
	}

	// The booking's trace: the edge, scheduling, and the insert of the saga's first
	// jobs. The charge is not made in it: the ensure_payment job, linked to the booking,
	// makes it in its own trace, through payments, identity and pix to the provider (the
	// sandbox speaking Mercado Pago's API).
	want := []string{"gateway", "scheduling"}
	s.eventually("the booking's spans", 20*time.Second, func() bool {
		return len(missing(rx.services(bookTrace), want)) == 0 && rx.find(bookTrace, "river.insert_many") != nil
	})
	if kinds := rx.insertedKinds(bookTrace); !slices.Contains(kinds, "scheduling.expire_hold") || !slices.Contains(kinds, "scheduling.ensure_payment") {
		t.Errorf("the booking's trace inserts jobs %q, want the saga's scheduling.expire_hold and scheduling.ensure_payment", kinds)
	}
	if rx.serviceIn(bookTrace, "pix") {
		t.Errorf("the booking's trace reaches pix: the charge is made on the request path")
	}
	s.eventually("the charge's job", 20*time.Second, func() bool {
		e := rx.findAny("river.work/scheduling.ensure_payment")
		return e != nil && e.linksTo(bookTrace) && rx.serviceIn(e.trace, "payments") && rx.serviceIn(e.trace, "identity") &&
			rx.find(e.trace, "mercadopago POST") != nil
	})
	ensure := rx.findAny("river.work/scheduling.ensure_payment")
	if mp := rx.find(ensure.trace, "mercadopago POST"); mp == nil || mp.service != "pix" || mp.attrs["http.response.status_code"] == "" {
		t.Errorf("the charge's trace has no client span of pix's call to the provider: %v", mp)
	}
	if gw := rx.find(bookTrace, "POST /v1/appointments"); gw == nil || gw.service != "gateway" || gw.parent != "" {
		t.Errorf("the booking's trace has no root span of the edge named after its route: %v", gw)
	}

	// The saga after the payment: the provider's notification (a trace of its own,
	// started at the edge) enqueues payments.sync_charge, linked to it; its work leads to
	// payments.notify_scheduling, whose call lands in scheduling within the job's trace.
	s.eventually("the payment's jobs", 20*time.Second, func() bool {
		n := rx.findAny("river.work/payments.notify_scheduling")
		return n != nil && rx.serviceIn(n.trace, "scheduling")
	})
	sync := rx.findAny("river.work/payments.sync_charge")
	linked := false
	for _, n := range rx.all("healthcore.payments.v1.PaymentsService/ReceiveNotification") {
		linked = linked || (n.service == "payments" && sync != nil && sync.linksTo(n.trace))
	}
	if !linked {
		t.Errorf("payments.sync_charge %v is not linked to the trace of a notification", sync)
	}
	notify := rx.findAny("river.work/payments.notify_scheduling")
	if len(notify.links) == 0 || !rx.hasTrace(notify.links[0].trace) {
		t.Errorf("payments.notify_scheduling %v links to no exported trace", notify)
	}

	// The doctor's answer: scheduling.prepare_room, linked to the accept request, calls
	// telehealth in its own trace.
	s.eventually("the room's job", 20*time.Second, func() bool {
		p := rx.findAny("river.work/scheduling.prepare_room")
		return p != nil && p.linksTo(acceptTrace) && rx.serviceIn(p.trace, "telehealth")
	})

	// No personal data anywhere: not in attributes (span, resource, event, link), names
	// or status messages.
	cpf := cpfFrom(nine)
	secrets := []string{cpf, cpf[:3] + "." + cpf[3:6] + "." + cpf[6:9] + "-" + cpf[9:], "Maria da Silva", "Maria", doctorName, "Beatriz",
		patientEmail, doctorEmail, reason, "palpita", "correct horse battery", "doctor password 1", maria, doctor, "+5511987654321"}
	texts := rx.texts()
	if len(texts) < 50 {
		t.Fatalf("only %d texts exported: the scan would prove nothing", len(texts))
	}
	for _, txt := range texts {
		for _, secret := range secrets {
			if strings.Contains(txt.value, secret) {
				t.Errorf("span %q (%s) holds personal data %q in %s: %q", txt.span, txt.service, secret, txt.where, txt.value)
			}
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("spans received:\n%s", rx.dump())
	}
}

func missing(have, want []string) []string {
	var out []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	return out
}

// otlpReceiver is an OTLP/HTTP trace receiver (protobuf), as a collector would be.
type otlpReceiver struct {
	url   string
	mu    sync.Mutex
	spans []*gotSpan
	raw   []*collectorv1.ExportTraceServiceRequest
}

type gotSpan struct {
	service, name, trace, id, parent, status string
	attrs                                    map[string]string
	links                                    []gotLink
}

type gotLink struct{ trace, span string }

func (s *gotSpan) String() string {
	if s == nil {
		return "<none>"
	}
	return fmt.Sprintf("%s %q trace=%s parent=%s links=%v attrs=%v status=%q", s.service, s.name, s.trace, s.parent, s.links, s.attrs, s.status)
}

func (s *gotSpan) linksTo(trace string) bool {
	for _, l := range s.links {
		if l.trace == trace {
			return true
		}
	}
	return false
}

func startOTLPReceiver(t *testing.T) *otlpReceiver {
	rx := &otlpReceiver{}
	sink := otlpsink.Start(rx.add)
	t.Cleanup(sink.Close)
	rx.url = sink.URL
	return rx
}

func (rx *otlpReceiver) add(req *collectorv1.ExportTraceServiceRequest) {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	rx.raw = append(rx.raw, req)
	for _, rs := range req.GetResourceSpans() {
		service := attrs(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				g := &gotSpan{service: service, name: sp.GetName(), trace: hex.EncodeToString(sp.GetTraceId()),
					id: hex.EncodeToString(sp.GetSpanId()), parent: hex.EncodeToString(sp.GetParentSpanId()),
					status: sp.GetStatus().GetMessage(), attrs: attrs(sp.GetAttributes())}
				for _, l := range sp.GetLinks() {
					g.links = append(g.links, gotLink{trace: hex.EncodeToString(l.GetTraceId()), span: hex.EncodeToString(l.GetSpanId())})
				}
				rx.spans = append(rx.spans, g)
			}
		}
	}
}

func attrs(kvs []*commonv1.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.GetKey()] = anyText(kv.GetValue())
	}
	return m
}

func anyText(v *commonv1.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonv1.AnyValue_StringValue:
		return x.StringValue
	case *commonv1.AnyValue_ArrayValue:
		var parts []string
		for _, e := range x.ArrayValue.GetValues() {
			parts = append(parts, anyText(e))
		}
		return strings.Join(parts, ",")
	case *commonv1.AnyValue_KvlistValue:
		var parts []string
		for _, kv := range x.KvlistValue.GetValues() {
			parts = append(parts, kv.GetKey()+"="+anyText(kv.GetValue()))
		}
		return strings.Join(parts, ",")
	case *commonv1.AnyValue_BytesValue:
		return string(x.BytesValue)
	}
	return fmt.Sprint(v.GetValue())
}

// services lists the services with a span in trace.
func (rx *otlpReceiver) services(trace string) []string {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	var out []string
	for _, s := range rx.spans {
		if s.trace == trace && !slices.Contains(out, s.service) {
			out = append(out, s.service)
		}
	}
	return out
}

func (rx *otlpReceiver) serviceIn(trace, service string) bool {
	return slices.Contains(rx.services(trace), service)
}

func (rx *otlpReceiver) hasTrace(trace string) bool { return len(rx.services(trace)) > 0 }

// find returns the first span named name in trace ("" for any trace).
func (rx *otlpReceiver) find(trace, name string) *gotSpan {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	for _, s := range rx.spans {
		if s.name == name && (trace == "" || s.trace == trace) {
			return s
		}
	}
	return nil
}

// insertedKinds lists the job kinds River's insert spans of trace name.
func (rx *otlpReceiver) insertedKinds(trace string) []string {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	var out []string
	for _, s := range rx.spans {
		if s.trace == trace && s.name == "river.insert_many" {
			out = append(out, strings.Split(s.attrs["kinds"], ",")...)
		}
	}
	return out
}

// all returns the spans named name.
func (rx *otlpReceiver) all(name string) []*gotSpan {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	var out []*gotSpan
	for _, s := range rx.spans {
		if s.name == name {
			out = append(out, s)
		}
	}
	return out
}

func (rx *otlpReceiver) findAny(name string) *gotSpan { return rx.find("", name) }

// exported is one text the spans carry, with where it was found.
type exported struct{ service, span, where, value string }

// texts returns every text of every export: span and resource attributes, event and
// link attributes, span names, status messages.
func (rx *otlpReceiver) texts() []exported {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	var out []exported
	for _, req := range rx.raw {
		for _, rs := range req.GetResourceSpans() {
			res := attrs(rs.GetResource().GetAttributes())
			service := res["service.name"]
			for k, v := range res {
				out = append(out, exported{service, "(resource)", k, v})
			}
			for _, ss := range rs.GetScopeSpans() {
				for _, sp := range ss.GetSpans() {
					name := sp.GetName()
					out = append(out, exported{service, name, "name", name}, exported{service, name, "status", sp.GetStatus().GetMessage()})
					for k, v := range attrs(sp.GetAttributes()) {
						out = append(out, exported{service, name, "attribute " + k, v})
					}
					for _, ev := range sp.GetEvents() {
						out = append(out, exported{service, name, "event", ev.GetName()})
						for k, v := range attrs(ev.GetAttributes()) {
							out = append(out, exported{service, name, "event attribute " + k, v})
						}
					}
					for _, l := range sp.GetLinks() {
						for k, v := range attrs(l.GetAttributes()) {
							out = append(out, exported{service, name, "link attribute " + k, v})
						}
					}
				}
			}
		}
	}
	return out
}

func (rx *otlpReceiver) dump() string {
	rx.mu.Lock()
	defer rx.mu.Unlock()
	lines := make([]string, 0, len(rx.spans))
	for _, s := range rx.spans {
		lines = append(lines, s.String())
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

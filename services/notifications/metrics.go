package notifications

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
)

// Outcomes of one provider call, the outcome label of healthcore_notifications_sent_total.
const (
	outcomeSent      = "sent"       // the provider accepted the message
	outcomeRetry     = "retry"      // a provider error that is retried (network, 4xx SMTP, 429, 5xx)
	outcomeFailed    = "failed"     // refused for good (bounce, invalid number)
	outcomeNoContact = "no_contact" // the recipient has no address on that channel
)

func newSentCounter() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "healthcore_notifications_sent_total",
		Help: "Messages the notifications service tried to send, by channel (email, whatsapp), event and outcome (sent, retry, failed, no_contact).",
	}, []string{"channel", "event", "outcome"})
}

func (s *Service) count(ch notificationsv1.Channel, e notificationsv1.Event, outcome string) {
	s.sent.WithLabelValues(channelLabel(ch), eventLabel(e), outcome).Inc()
}

func channelLabel(ch notificationsv1.Channel) string {
	return strings.ToLower(strings.TrimPrefix(ch.String(), "CHANNEL_"))
}

func eventLabel(e notificationsv1.Event) string {
	return strings.ToLower(strings.TrimPrefix(e.String(), "EVENT_"))
}

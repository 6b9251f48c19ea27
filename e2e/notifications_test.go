package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	notificationsv1 "healthcore/gen/healthcore/notifications/v1"
	"healthcore/gen/healthcore/notifications/v1/notificationsv1connect"
)

// TestMultiProcess_NotificationsReachTheMailSinkAndWhatsAppStatusesComeBack: in a stack
// of processes, a Notify from scheduling (over mTLS) sends the e-mail to the SMTP sink
// of the notifications process, and, after the patient opts in over REST, a WhatsApp
// message to the sandbox, whose signed status webhook reaches notifications through the
// gateway's /webhooks/whatsapp and shows in the patient's history as DELIVERED.
func TestMultiProcess_NotificationsReachTheMailSinkAndWhatsAppStatusesComeBack(t *testing.T) {
	s := startStack(t)
	token := s.loginPatient("maria@example.com", "529982247")
	docID, _ := s.loginDoctor("Dra. Ana Souza", "654321", "ana@clinica.com.br")
	var me struct{ Account accountJSON }
	s.rest("GET", "/v1/me", token, nil, &me)

	hc, url := s.as("scheduling", "notifications")
	client := notificationsv1connect.NewNotificationsServiceClient(hc, url, connect.WithGRPC())
	notify := func(key string) {
		t.Helper()
		_, err := client.Notify(context.Background(), connect.NewRequest(&notificationsv1.NotifyRequest{
			IdempotencyKey: key, Event: notificationsv1.Event_EVENT_BOOKING_CONFIRMED, RecipientId: me.Account.ID,
			Detail: &notificationsv1.NotifyRequest_Appointment{Appointment: &notificationsv1.AppointmentDetail{
				AppointmentId: "0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10", PatientId: me.Account.ID, DoctorId: docID,
				StartTime: timestamppb.New(time.Now().Add(48 * time.Hour)), PriceCents: 25000,
				JoinPath: "/v1/appointments/0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10/join",
			}},
		}))
		if err != nil {
			t.Fatalf("notify %s: %v", key, err)
		}
	}
	notify("appt-e2e-confirmed-patient")
	var confirmed []sunkMail // the sink holds the registrations' verification e-mails too
	s.eventually("the e-mail in the sink", 30*time.Second, func() bool {
		msgs, err := inbox(s.mailOps())
		confirmed = nil
		for _, m := range msgs {
			if strings.HasPrefix(m.Subject, "Consulta confirmada") {
				confirmed = append(confirmed, m)
			}
		}
		return err == nil && len(confirmed) == 1
	})
	if confirmed[0].To != "maria@example.com" ||
		!strings.Contains(confirmed[0].Text, s.gateway+"/v1/appointments/0b9f3c51-5c38-4a53-9d0a-4e1b2a6f7c10/join") {
		t.Fatalf("mail %+v", confirmed[0])
	}

	code, _ := s.rest("PATCH", "/v1/me/notification-preferences?updateMask=whatsapp", token,
		map[string]any{"whatsapp": true, "consentTextVersion": "whatsapp-v1", "consentSource": "web"}, nil)
	if code != http.StatusOK {
		t.Fatalf("opt in: %d", code)
	}
	notify("appt-e2e-reminder-15min-patient")
	s.eventually("the WhatsApp message delivered", 30*time.Second, func() bool {
		var list struct {
			Notifications []struct {
				Deliveries []struct{ Channel, Status string }
			}
		}
		s.rest("GET", "/v1/me/notifications", token, nil, &list)
		// Newest first: the reminder, the confirmation, the registration's verification link.
		if len(list.Notifications) != 3 || len(list.Notifications[0].Deliveries) != 1 {
			return false
		}
		d := list.Notifications[0].Deliveries[0]
		return d.Channel == "CHANNEL_WHATSAPP" && d.Status == "DELIVERY_STATUS_DELIVERED"
	})
}

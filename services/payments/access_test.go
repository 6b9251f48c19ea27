package payments

import (
	"context"
	"testing"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/platform/authn"
	"healthcore/platform/testkit"
)

func TestGetPayment_OnlyTheAppointmentsPatientAndDoctorSeeIt(t *testing.T) {
	f := newFixture(t, true)
	patient, doctor := f.patient(), f.doctor()
	b := f.book(patient, doctor, 25000)
	p := f.start(b)
	get := func(token string) (*paymentsv1.Payment, error) {
		resp, err := f.public.GetPayment(context.Background(), testkit.Authed(&paymentsv1.GetPaymentRequest{AppointmentId: b.id}, token))
		if err != nil {
			return nil, err
		}
		return resp.Msg.GetPayment(), nil
	}
	for name, u := range map[string]user{"patient": patient, "doctor": doctor} {
		got, err := get(u.token)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.GetId() != p.GetId() || got.GetQrCode() == "" || len(got.GetHistory()) != 2 {
			t.Fatalf("%s sees %v", name, got)
		}
	}
	for name, u := range map[string]user{"another patient": f.patient(), "another doctor": f.doctor()} {
		t.Run(name, func(t *testing.T) {
			_, err := get(u.token)
			testkit.WantReason(t, err, ReasonPaymentNotFound)
		})
	}
	_, err := get("")
	testkit.WantReason(t, err, authn.ReasonTokenMissing)
	_, err = f.public.GetPayment(context.Background(), testkit.Authed(&paymentsv1.GetPaymentRequest{
		AppointmentId: "7a1c1f5e-2d8b-4f4e-9a57-0c6d1c2b3a4f"}, patient.token))
	testkit.WantReason(t, err, ReasonPaymentNotFound)
}

func TestInternalRPCs_RefuseUserTokens(t *testing.T) {
	f := newFixture(t, true)
	patient, doctor := f.patient(), f.doctor()
	b := f.book(patient, doctor, 25000)
	for _, u := range []user{patient, doctor} {
		_, err := f.public.StartPayment(context.Background(), testkit.Authed(f.startReq(b), u.token))
		testkit.WantReason(t, err, authn.ReasonServiceOnly)
		_, err = f.public.CancelPayment(context.Background(), testkit.Authed(&paymentsv1.CancelPaymentRequest{AppointmentId: b.id}, u.token))
		testkit.WantReason(t, err, authn.ReasonServiceOnly)
		_, err = f.public.Refund(context.Background(), testkit.Authed(&paymentsv1.RefundRequest{
			AppointmentId: b.id, AmountCents: 100, Reason: "cancelled", IdempotencyKey: "refund-by-user"}, u.token))
		testkit.WantReason(t, err, authn.ReasonServiceOnly)
	}
	var n int
	if err := f.db.QueryRow(context.Background(), `SELECT count(*) FROM payments`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d payments made by refused calls", n)
	}
}

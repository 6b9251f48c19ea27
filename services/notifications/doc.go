// Package notifications is the notifications service: it tells doctors and patients
// about what needs them — a booking to answer before its deadline, a payment received,
// a confirmation with the room link, money coming back, a share, a new login — by
// e-mail (SMTP or Amazon SES; dev's local sink) and WhatsApp (the Business Cloud API;
// dev's sandbox). Emitting services call Notify from a job committed with their state
// change; Notify records the notification once per idempotency key with its delivery
// job; the job asks identity for the current contact, renders the pt-BR template,
// honours the recipient's preferences and quiet hours, and sends, recording "sending"
// before each provider call and the provider's id after it (deliver.go says where a
// duplicate can still happen).
package notifications

// Package mailsink is development's mail server: an SMTP server (github.com/emersion/
// go-smtp) on loopback that accepts every message the notifications service sends
// through its SMTP driver, keeps the latest in memory, and shows them on an inbox page
// (the gateway mounts it at /dev/mail in `healthcore dev` only) where each message is
// rendered, so its links can be clicked. Like a webmail it shows one copy per
// Message-ID and recipient: a message sent again after a crash (same Message-ID) is
// counted, not listed twice. Tests use it as the real SMTP server on loopback, and
// can make it refuse recipients (550) to exercise bounces.
//
// The inbox lives in memory, not PostgreSQL: it is a development convenience that no
// production process runs, so it owns no schema to migrate anywhere, and a restart
// empties it as Mailpit's default does.
package mailsink

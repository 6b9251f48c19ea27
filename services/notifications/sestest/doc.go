// Package sestest is a fake of Amazon SES v2's SendEmail on 127.0.0.1 for the
// notifications SES driver's tests: it speaks the REST API (POST
// /v2/email/outbound-emails, JSON), checks every request's SigV4 signature with
// platform/awstest, keeps the messages it accepted, and refuses chosen recipients with
// MessageRejected as SES does.
package sestest

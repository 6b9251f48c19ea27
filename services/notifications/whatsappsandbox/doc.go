// Package whatsappsandbox is a development and test stand-in for the WhatsApp Business
// Cloud API: an HTTP server that speaks the subset the whatsapp driver uses (sending
// template messages), checks them against a list of registered templates, keeps the
// messages it accepted in memory, shows them on a page, and sends status webhooks
// signed as Meta signs them. `healthcore dev` points the production driver at it, so
// development and tests run the real integration over real HTTP without a Meta
// account. Like the PIX sandbox it reads the wire conventions from the documentation
// on its own rather than sharing the driver's code, so a misreading in the driver
// cannot check itself.
//
// Reserved numbers make failures on demand (the last four digits of "to"):
//
//	…0000  refused at once: HTTP 400, code 131026 (message undeliverable) — permanent
//	…0001  accepted, then a "failed" status webhook with 131026, as Meta reports most
//	       undeliverable numbers: asynchronously
//	…0429  the first attempt of each message gets HTTP 429, code 130429 (throughput
//	       reached) with Retry-After: 1; the same message again is accepted
//	…0500  the first attempt of each message gets HTTP 500, code 131000; the same
//	       message again is accepted
//
// "The same message" is the same recipient, template, language and parameters (the
// API has no idempotency key). Every other number is accepted and its webhooks say
// sent, then delivered.
package whatsappsandbox

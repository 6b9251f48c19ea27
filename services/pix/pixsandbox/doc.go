// Package pixsandbox is a development and test stand-in for Mercado Pago's payments
// API: an HTTP server that speaks the subset of the REST API the pix service's
// production driver uses, keeps its state in PostgreSQL (schema Schema) and sends
// signed webhooks. `healthcore dev` points the production driver at it, so development
// and tests run the real integration over real HTTP without a Mercado Pago account.
// It reads Mercado Pago's wire conventions (amounts, dates, signatures) from the
// documentation on its own rather than sharing the driver's code, so a misreading in
// the driver cannot check itself.
package pixsandbox

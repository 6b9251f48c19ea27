// Package pix is the pix service, the platform's PIX payment adapter: it creates PIX
// charges, reads, cancels and refunds them, and verifies the provider's signed
// notifications. A Driver talks to the provider — Mercado Pago's REST API through its
// Go SDK — and Service serves it as healthcore.pix.v1.PixService. For development,
// Sandbox is a server that speaks the same REST subset, keeps its state in PostgreSQL
// and sends signed webhooks, so the production driver runs against it over HTTP.
package pix

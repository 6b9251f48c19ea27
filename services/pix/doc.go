// Package pix is the pix service, the platform's PIX payment adapter: it creates PIX
// charges, reads, cancels and refunds them, and verifies the provider's signed
// notifications. A Driver talks to the provider — Mercado Pago's REST API through its
// Go SDK — and Service serves it as healthcore.pix.v1.PixService. For development,
// the sandbox driver runs the same Mercado Pago driver against pixsandbox, a server
// that speaks the same REST subset and sends signed webhooks.
package pix

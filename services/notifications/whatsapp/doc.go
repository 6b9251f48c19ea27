// Package whatsapp is the production driver of the WhatsApp Business Cloud API for the
// notifications service: it sends approved message templates with their parameters
// (the only kind of message a business may start a conversation with), classifies the
// Graph API's errors into permanent and retryable ones, and reads the signed status
// webhooks (sent, delivered, read, failed) that come back. docs/vendors/whatsapp.md
// lists the parts of Meta's documentation it relies on.
package whatsapp

// Package logging builds the structured JSON logger every process uses and keeps
// secrets out of it: attributes named like passwords, tokens, CPFs or keys are redacted
// before they are written, and the request id travels in the context.
package logging

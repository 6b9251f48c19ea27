// Package errs is the one place where domain failures become gRPC status codes.
// Services return *Error values (or plain errors, which become INTERNAL); the server's
// logging interceptor converts them with ToConnect, logging internal causes and sending
// clients only a safe message, an ErrorInfo reason and any field violations.
package errs

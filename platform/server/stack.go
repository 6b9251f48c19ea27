package server

import "net/http"

// reserveFrame is the frame that grows a call's goroutine stack, before the call
// runs and in one step, to 32 KB: what a unary call through the interceptors, a
// handler and pgx needs.
//
// The HTTP/2 server runs every call on a new goroutine, whose stack starts small (the
// runtime's starting size, a few KB) and doubles whenever a deeper frame needs more;
// each doubling copies every frame on the stack and adjusts its pointers. A search
// through the directory grew its stack several times, deep in the call, and
// runtime.copystack was 7.7 % of the service's CPU samples (bench/search). One frame
// of reserveFrame bytes at the top, where the stack holds a few frames, makes the
// runtime double it until the frame fits: one cheap copy instead of several dear ones.
const reserveFrame = 16 << 10

// withCallStack runs next on a stack grown once, at the start of the call.
func withCallStack(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		growStack()
		next.ServeHTTP(w, r)
	})
}

// growStack needs a frame of reserveFrame bytes, so the runtime grows the goroutine's
// stack to hold it before it runs; the stack keeps that size when it returns.
//
//go:noinline
func growStack() {
	var frame [reserveFrame]byte
	keep(frame[:])
}

// keep makes frame live, so that the compiler keeps growStack's frame.
//
//go:noinline
func keep(frame []byte) {
	if len(frame) != reserveFrame {
		panic("server: the stack reserve frame has the wrong size")
	}
}

package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"unsafe"
)

// A call run by withCallStack on a new goroutine, as the HTTP/2 server runs each call,
// uses 20 KB of stack without its stack being copied again; the same call without it
// has its stack copied (which moves its frames: the address of a local changes).
func TestWithCallStack_GrowsTheCallsStackOnceAtItsStart(t *testing.T) {
	moved := func(wrap func(http.Handler) http.Handler) bool {
		var moved bool
		h := wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
			var marker byte
			before := uintptr(unsafe.Pointer(&marker))
			descend(20)
			moved = before != uintptr(unsafe.Pointer(&marker))
		}))
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/", nil))
		}()
		<-done
		return moved
	}
	if !moved(func(h http.Handler) http.Handler { return h }) {
		t.Fatal("without withCallStack a call using 20 KB kept its stack in place: the test no longer sees a stack grow")
	}
	for range 10 {
		if moved(withCallStack) {
			t.Fatal("with withCallStack the call's stack was copied after its start")
		}
	}
}

// descend uses about a kilobyte of stack a level.
//
//go:noinline
func descend(levels int) byte {
	var frame [1000]byte
	frame[levels%len(frame)] = byte(levels)
	if levels == 0 {
		return frame[0]
	}
	return descend(levels-1) + frame[levels%len(frame)]
}

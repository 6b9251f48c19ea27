package envelope

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"
)

func TestAwaitKeys_RetriesWhileKeysIsUnavailable(t *testing.T) {
	down := connect.NewError(connect.CodeUnavailable, errors.New("dial tcp: connection refused"))
	calls := 0
	err := AwaitKeys(context.Background(), nil, func() error {
		calls++
		if calls < 3 {
			return down
		}
		return nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want success on the third", err, calls)
	}
}

func TestAwaitKeys_OtherErrorsReturnAtOnce(t *testing.T) {
	refused := connect.NewError(connect.CodeInvalidArgument, errors.New("bad context"))
	calls := 0
	err := AwaitKeys(context.Background(), nil, func() error { calls++; return refused })
	if !errors.Is(err, refused) || calls != 1 {
		t.Fatalf("err %v after %d calls, want the error at once", err, calls)
	}
}

func TestAwaitKeys_GivesUpWhenTheContextEnds(t *testing.T) {
	down := connect.NewError(connect.CodeUnavailable, errors.New("connection refused"))
	ctx, cancel := context.WithTimeout(context.Background(), 350*time.Millisecond)
	defer cancel()
	calls := 0
	err := AwaitKeys(ctx, nil, func() error { calls++; return down })
	if !errors.Is(err, down) || calls < 2 {
		t.Fatalf("err %v after %d calls, want the last unavailable error after some retries", err, calls)
	}
}

package errs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"

	"healthcore/platform/errs"
)

// An unexpected failure caused by a database connection that could not be made or
// broke is sent as a retryable UNAVAILABLE, and still logged; one whose query the
// database refused stays INTERNAL.
func TestToConnect_UnreachableDatabaseIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Nothing listens on port 1: the dial is refused, as while PostgreSQL restarts.
	_, refused := pgconn.Connect(ctx, "postgres://postgres@127.0.0.1:1/x?sslmode=disable&connect_timeout=2")
	if refused == nil {
		t.Fatal("connected to port 1")
	}
	tests := []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"connection refused", errs.Internal("test: insert", refused), true},
		{"server shutting down", errs.Internal("test: insert", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"}), true},
		{"server starting", fmt.Errorf("query: %w", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"}), true},
		{"connection broke mid-query", errs.Internal("test: select", fmt.Errorf("failed to receive message: %w", io.ErrUnexpectedEOF)), true},
		{"connection closed under a commit", errs.Internal("test: book", fmt.Errorf("error committing transaction: %w", pgconn.ErrConnClosed)), true},
		{"query refused", errs.Internal("test: insert", &pgconn.PgError{Code: "23505", Message: "duplicate key"}), false},
		{"plain failure", errs.Internal("test: op", errors.New("boom")), false},
		{"another service down", errs.Internal("test: call", connect.NewError(connect.CodeUnavailable, fmt.Errorf("dial: %w", io.ErrUnexpectedEOF))), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ce, logged := errs.ToConnect(tt.err)
			if logged == nil {
				t.Error("cause not logged")
			}
			if got := errs.Has(ce, errs.ReasonDatabaseUnavailable); got != tt.unavailable {
				t.Fatalf("%v (%s): database unavailable %v, want %v", ce.Code(), errs.ReasonOf(ce), got, tt.unavailable)
			}
			want := connect.CodeInternal
			if tt.unavailable {
				want = connect.CodeUnavailable
			}
			if ce.Code() != want {
				t.Errorf("code %v, want %v", ce.Code(), want)
			}
			if tt.unavailable && ce.Message() != "the database is unavailable right now; retry shortly" {
				t.Errorf("message %q", ce.Message())
			}
		})
	}
}

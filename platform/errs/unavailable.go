package errs

import (
	"errors"
	"io"
	"net"
	"strings"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgconn"
)

// ReasonDatabaseUnavailable answers a call that failed because its database could not
// be reached (down, restarting, failing over): retryable, unlike INTERNAL, which says
// the server is at fault whatever the client does. Services need not raise it: an
// unexpected failure (Internal) whose cause is a lost or refused database connection
// is sent with it.
var ReasonDatabaseUnavailable = Declare(connect.CodeUnavailable, "DATABASE_UNAVAILABLE")

// databaseUnreachable reports whether err comes from a database connection that could
// not be made or broke, rather than from a query the database refused.
func databaseUnreachable(err error) bool {
	// A failed call to another service broke on its own connection, not the database's.
	if _, ok := errors.AsType[*connect.Error](err); ok {
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok {
		// Class 08, connection exception; 57P01 admin_shutdown, 57P02 crash_shutdown,
		// 57P03 cannot_connect_now (starting up, or recovering after a crash).
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	// pgx's own verdict: the statement never reached the server; or it went to a
	// connection the driver had closed when its socket went away.
	if pgconn.SafeToRetry(err) || errors.Is(err, pgconn.ErrConnClosed) {
		return true
	}
	// A connection that broke under a statement: the server went away.
	_, netErr := errors.AsType[*net.OpError](err)
	return netErr || errors.Is(err, io.ErrUnexpectedEOF)
}

// databaseUnavailable is the error sent for an unexpected failure whose cause is an
// unreachable database; cause is kept for the logs.
func databaseUnavailable(cause error) *Error {
	return ReasonDatabaseUnavailable.New("the database is unavailable right now; retry shortly").WithCause(cause)
}

package pix

import (
	"net"

	"github.com/jackc/pgx/v5/pgxpool"

	"healthcore/services/pix/pixsandbox"
)

// The PIX sandbox lives in package pixsandbox. These names forward to it for the
// packages that still build it from here.

// SandboxSchema is pixsandbox.Schema.
//
// Deprecated: use pixsandbox.Schema.
var SandboxSchema = pixsandbox.Schema

// SandboxOptions is pixsandbox.Options.
//
// Deprecated: use pixsandbox.Options.
type SandboxOptions = pixsandbox.Options

// NewSandbox is pixsandbox.New.
//
// Deprecated: use pixsandbox.New.
func NewSandbox(db *pgxpool.Pool, ln net.Listener, opts SandboxOptions) (*pixsandbox.Sandbox, error) {
	return pixsandbox.New(db, ln, opts)
}

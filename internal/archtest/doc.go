// Package archtest holds the tests that keep the codebase to its conventions
// (docs/architecture.md): SQL only in stores, one transaction helper, reasons declared
// once with one code, job kinds named after their service, and nothing that cites a
// file outside the repository. It has no code of its own.
package archtest

// Package awstest holds what the loopback fakes of AWS APIs share (meetingstest's
// Chime, the notifications SES fake): a check of AWS Signature Version 4 written from
// the published algorithm, so a driver's misuse of the SDK's signer cannot verify
// itself.
package awstest

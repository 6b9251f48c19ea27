// Package records is the records service: the patient's electronic health record
// (documents, groups and the access log). Each document is encrypted with its own
// data key from the keys service, in authenticated chunks streamed into the blobs
// service, so neither storage nor a byte flipped in it ever yields wrong plaintext.
package records

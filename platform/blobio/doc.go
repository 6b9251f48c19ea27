// Package blobio adapts the blobs service's streams to io: an object being read as
// an io.Reader, and an object being stored as an io.Writer that commits only with its
// trailer. Records' documents and identity's data exports stream through it.
package blobio

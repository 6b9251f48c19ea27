// Package blobs is the blobs service, the platform's object storage adapter: it stores,
// streams back, describes and deletes opaque objects (the records service sends only
// ciphertext) under keys made of random ids. A Driver does the storage — Amazon S3 in
// production, files in the data folder for development — and Service serves it as
// healthcore.blobs.v1.BlobsService, streaming both ways so memory stays flat whatever
// an object's size.
package blobs

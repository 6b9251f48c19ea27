// Package chunkseal encrypts a stream (a record document, a data export archive) in
// chunks under a data key of its own, so it is sealed and opened one chunk at a time
// whatever its size.
//
// The plaintext is cut into chunks of ChunkSize bytes (the last one shorter, never
// empty); each is sealed with AES-256-GCM and the sealed chunks are concatenated: the
// object is exactly ceil(size/ChunkSize) × TagSize bytes longer than the plaintext.
//
// Chunk i's nonce is the stream's 4-byte random prefix followed by i as 8 big-endian
// bytes: never repeated under a key (which encrypts one stream only). Its associated
// data binds a label naming the format, the stream's id, i and whether it is the last
// chunk, so a chunk moved to another place or stream, a dropped chunk, or an object
// cut at a chunk boundary (whose new last chunk was not sealed as last) fails to open.
package chunkseal

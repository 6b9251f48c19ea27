#!/usr/bin/env bash
# Copies the third-party .proto files our contracts import from the Go module cache
# into third_party/proto (git-ignored). The versions are pinned here; the download runs
# outside the module so go.mod and go.sum stay untouched.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/third_party/proto"

gateway_v1=github.com/grpc-ecosystem/grpc-gateway@v1.16.0   # google/api/*.proto
gateway_v2=github.com/grpc-ecosystem/grpc-gateway/v2@v2.33.0 # protoc-gen-openapiv2/options
pgv=github.com/envoyproxy/protoc-gen-validate@v1.3.3          # validate/validate.proto

moddir() {
	(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go mod download -json "$1") |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'
}

v1=$(moddir "$gateway_v1")
v2=$(moddir "$gateway_v2")
val=$(moddir "$pgv")

rm -rf "$dest"
mkdir -p "$dest/google/api" "$dest/validate" "$dest/protoc-gen-openapiv2/options"
cp "$v1"/third_party/googleapis/google/api/{annotations,http,httpbody}.proto "$dest/google/api/"
cp "$val"/validate/validate.proto "$dest/validate/"
cp "$v2"/protoc-gen-openapiv2/options/{annotations,openapiv2}.proto "$dest/protoc-gen-openapiv2/options/"
chmod -R u+w "$dest"
echo "third-party protos in ${dest#"$root"/}"

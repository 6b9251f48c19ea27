// Package docs serves the REST gateway's interactive API reference at /docs.
//
// The page is Swagger UI, whose files come from the npm package swagger-ui-dist
// (copied into assets/ by scripts/fetch-docs-assets.sh) and are embedded in the binary,
// so nothing is loaded from a CDN at run time and the page works under a strict
// Content-Security-Policy.
package docs

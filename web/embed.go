// Package web holds the web app (a TypeScript + React + Vite project, see its
// package.json) and embeds its committed build, dist/, into the healthcore binary: the
// gateway serves it at /, so make run on a machine with only Go and PostgreSQL opens
// the app. make web rebuilds dist/ from the sources; make check-web fails when the
// committed build is not what the sources make.
package web

import (
	"embed"
	"io/fs"
)

//go:embed dist
var dist embed.FS

// Dist is the built app: index.html at its root, the content-hashed files under assets/.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("web: " + err.Error()) // cannot happen: the folder is embedded
	}
	return sub
}

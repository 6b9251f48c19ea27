// Command openapi writes the edge's OpenAPI 3.0 document (the one it serves at
// /openapi.v3.json) to the file named by its argument: the web app's typed client is
// generated from it (make web), so a contract change breaks the web build.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"healthcore/gateway"
	"healthcore/gen/openapi"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: openapi FILE")
		os.Exit(2)
	}
	doc, err := gateway.OpenAPIv3(openapi.JSON)
	if err == nil { // its folder (web/build) is not in a fresh clone
		err = os.MkdirAll(filepath.Dir(os.Args[1]), 0o755)
	}
	if err == nil {
		err = os.WriteFile(os.Args[1], append(doc, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "openapi:", err)
		os.Exit(1)
	}
}

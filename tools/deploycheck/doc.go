// Package deploycheck renders the Helm chart in deploy/helm/healthcore the way
// `helm template` does (with helm's own library, pinned in this module) and checks
// what comes out: every object decodes strictly into its k8s.io/api type (an unknown
// or misspelt field fails), and the objects follow the platform's deployment policy
// (Policy). Its tests run from `make deploy-check`; the main module stays free of
// Kubernetes dependencies.
package deploycheck

// Package crmregistry looks a CRM registration up in a registry of physicians: name,
// situation (ativo, inativo…) and specialties with their RQE. Identity shows the answer
// to the operator beside a doctor's evidence; it never decides a verification by
// itself. The only driver reads a fixture file: the CFM publishes no documented API
// for its registry, so there is no HTTP driver.
package crmregistry

// Package clinics is the clinics service: partner clinics (an organisation with a
// CNPJ, registered by an operator), the doctors affiliated with each (the clinic
// invites — through an operator in this version —, the doctor accepts or declines, and
// may end it; a doctor may belong to several clinics), and each doctor's delegation to
// a clinic of answering appointments. Every change is written to the append-only
// affiliation_history with its actor, and logged. Other services ask CheckAffiliation
// before a clinic's system acts for a doctor (scheduling), and CheckClinic before an
// OAuth client is created for a clinic (identity). Operators and doctors reach it over
// REST too.
package clinics

// Package scheduling is the scheduling service: doctors' weekly availability and date
// exceptions, the bookable slots it produces for the coming weeks (computed in the
// doctor's time zone, stored as UTC instants, rolled forward daily), the agenda
// patients see with its price, and the appointments that hold slots — at most one live
// appointment per slot, enforced by the database. What patients and doctors write about
// an appointment is health data, kept sealed (texts.go).
package scheduling

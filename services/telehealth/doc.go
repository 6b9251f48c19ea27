// Package telehealth is the telehealth service: the online consultation room of every
// confirmed appointment. It admits the appointment's patient and doctor only, from a
// few minutes before the start until the end; creates the video meeting (through the
// meetings service) at the first join and again if the provider ended it early; and,
// when the window closes, a durable job ends the meeting and tells scheduling whether
// the consultation happened (COMPLETED) or nobody came (a no-show).
package telehealth

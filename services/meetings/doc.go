// Package meetings is the meetings service, the platform's video meeting adapter:
// it creates a meeting per consultation, admits its attendees (patient and doctor,
// by opaque user id) and ends it. A Driver talks to the provider and Service serves
// it as healthcore.meetings.v1.MeetingsService, internal to the platform.
//
// The chime driver calls Amazon Chime SDK Meetings' REST API, signed with SigV4 by
// hand. The local driver, the default of development, needs no cloud account and
// gives a Jitsi Meet room people can really join: the room name is derived from a
// secret and the meeting id (HMAC), never stored; meetings live in the process's
// memory only, for a day at most, as they do at Chime.
package meetings

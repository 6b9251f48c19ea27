// Package meetingstest is a test double of Amazon Chime SDK Meetings' REST API, for
// tests only: Chime serves the API on loopback, checks every request's SigV4
// signature from the published algorithm, keeps meetings and attendees as Chime
// does, and fails requests on demand. Point the meetings service's chime driver at
// its URL, with the credentials and region named here, to test through real HTTP
// and real signing what would otherwise need an AWS account.
package meetingstest

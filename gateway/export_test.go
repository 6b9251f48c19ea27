package gateway

import "time"

// SetClock makes the gateway's cache of public reads' versions tell time by now.
func SetClock(g *Gateway, now func() time.Time) { g.cache.now = now }

// CacheBodyShare is the share of the budget beyond which an answer is not kept (1/n).
const CacheBodyShare = cacheBodyShare

package directory

import (
	"flag"
	"time"

	"healthcore/platform/config"
)

// Config is the directory's settings.
type Config struct {
	// SearchIndexEvery is how often each replica reads the doctors changed since its
	// last read into its in-memory search index; 0 turns the index off (every search
	// runs the query).
	SearchIndexEvery time.Duration
}

// DefaultConfig is what production runs with unless told otherwise.
func DefaultConfig() Config { return Config{SearchIndexEvery: time.Second} }

// RegisterFlags binds the settings to flags named directory.*.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&c.SearchIndexEvery, "directory.search-index-every", c.SearchIndexEvery,
		"how often each directory replica reads the doctors changed since its last read into its in-memory search index (its own writes show at once); 0 = no index, every search runs the query")
}

// Check reports bad settings.
func (c Config) Check(p *config.Problems) {
	p.Check(c.SearchIndexEvery == 0 || c.SearchIndexEvery >= 100*time.Millisecond && c.SearchIndexEvery <= 10*time.Second,
		"directory.search-index-every=%s: must be 0 (no index) or 100ms to 10s", c.SearchIndexEvery)
}

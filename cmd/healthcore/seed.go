package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"healthcore/internal/catalog"
	"healthcore/platform/pg"
	"healthcore/services/directory"
)

// runSeed adds realistic doctor profiles to the directory for demos and benchmarks.
// They are directory profiles only: no identity account stands behind them.
func runSeed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: healthcore seed [-doctors N] [-seed S] [flags]

Adds N listed doctor profiles spread over Brazilian cities (most in the largest), with
specialties, prices, ratings and locations. The same -seed on the same data gives the
same doctors; seeding again adds more. They are directory profiles only, with no login
account: nobody can log in as a seeded doctor.

Flags:
`)
		fs.PrintDefaults()
	}
	cfg := catalog.NewConfig(fs, true)
	doctors := fs.Int("doctors", 1000, "how many doctors to add")
	seed := fs.Int64("seed", 1, "seed of the generator: the same seed gives the same doctors")
	if err := cfg.Parse(fs, args); err != nil {
		return err
	}
	if *doctors < 0 {
		return fmt.Errorf("-doctors=%d: must not be negative", *doctors)
	}
	log := cfg.Logger()
	url := cfg.DatabaseURL
	var err error
	if url == "" {
		url, err = pg.Locate(ctx, cfg.DataDir, log)
	} else {
		err = pg.EnsureDatabase(ctx, url)
	}
	if err != nil {
		return err
	}
	if err := pg.Migrate(ctx, url, log, directory.Schema); err != nil {
		return err
	}
	db, err := pg.Open(ctx, url, directory.Schema.Name, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	n, err := directory.Seed(ctx, db, *doctors, *seed)
	if err != nil {
		return err
	}
	fmt.Printf("seeded %d doctors (seed %d) in %s into %s — directory profiles only, with no login accounts\n",
		n, *seed, time.Since(start).Round(time.Millisecond), pg.RedactURL(url))
	return nil
}

package main

import (
	"context"
	"errors"
)

// runSeed is written with the directory seed generator.
func runSeed(ctx context.Context, args []string) error {
	return errors.New("seed: not built yet")
}

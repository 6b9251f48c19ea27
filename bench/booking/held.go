package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"healthcore/bench/load"
	"healthcore/bench/stack"
	"healthcore/platform/jobs"
	"healthcore/platform/pg"
)

// heldResult is the sustained phase run again with scheduling's jobs paused: the
// bookings alone, and the proof that no charge was made meanwhile.
type heldResult struct {
	booking *load.Result
	// chargesInWindow counts ensure_payment jobs that finished from the pause to the
	// bookings' end: 0 when the pause held.
	chargesInWindow int
	// backlog is the charges left when the queue resumed; drained is how long they took.
	backlog int
	drained time.Duration
}

// heldPhase runs the sustained phase with scheduling's River queue paused (River's
// QueuePause, which the serve process's workers hear on their schema's control
// channel), so that the window holds the booking requests alone: the REST path the
// ceiling "the booking transaction alone" is its bare database work of. The charges
// are made once the queue resumes, and the phase waits for all of them.
func heldPhase(ctx context.Context, client *http.Client, st *stack.Stack, dbURL string, identityDB pg.Querier, operator string, o options) (*heldResult, error) {
	db, err := pg.Open(ctx, dbURL, "scheduling", 2)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	queue, err := jobs.New(db, "scheduling", nil, nil, jobs.Options{})
	if err != nil {
		return nil, err
	}
	if err := queue.QueuePause(ctx, river.QueueDefault, nil); err != nil {
		return nil, fmt.Errorf("pause scheduling's jobs: %w", err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = queue.QueueResume(context.WithoutCancel(ctx), river.QueueDefault, nil)
		}
	}()
	// Every charge of the earlier phases was made before the pause: any ensure_payment
	// job finishing from now until the bookings end would be one the pause let through.
	from := time.Now()
	r, err := sustainedPhase(ctx, client, st, identityDB, operator, o, sustainedRound{
		name:       "POST /v1/appointments (distinct slots; charges held)",
		doctorFrom: 1 + 2*o.clients, patientFrom: o.patients + 2*o.clients, chargesHeld: true,
	})
	if err != nil {
		return nil, err
	}
	out := &heldResult{booking: r}
	to := time.Now()
	if err := db.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'scheduling.ensure_payment'
		AND finalized_at BETWEEN $1 AND $2`, from, to).Scan(&out.chargesInWindow); err != nil {
		return nil, err
	}
	if err := queue.QueueResume(ctx, river.QueueDefault, nil); err != nil {
		return nil, fmt.Errorf("resume scheduling's jobs: %w", err)
	}
	resumed = true
	fmt.Println("sustained (charges held): the queue resumed; waiting for every charge …")
	t0 := time.Now()
	_, out.backlog, _, _, err = drainCharges(ctx, dbURL)
	out.drained = time.Since(t0)
	return out, err
}

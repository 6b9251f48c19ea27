package pg

import (
	"context"
	"fmt"
)

// PruneBatch is the most rows one statement of DeleteInBatches deletes, so that no
// statement holds many row locks or writes much WAL at once.
const PruneBatch = 5000

// DeleteInBatches deletes table's rows matching cond, PruneBatch at a time, until a
// statement deletes fewer, and returns how many it deleted. keyCols is the table's
// primary key (a column list); cond may use the placeholders of args. Rows a
// concurrent transaction holds are skipped (the next prune takes them), and cond is
// checked again on each row once locked, so a row brought back into use meanwhile
// stays. Both table and cond are the caller's SQL text, never input.
func DeleteInBatches(ctx context.Context, q Querier, table, keyCols, cond string, args ...any) (int64, error) {
	sql := fmt.Sprintf(`DELETE FROM %[1]s WHERE (%[2]s) IN (SELECT %[2]s FROM %[1]s WHERE %[3]s LIMIT $%[4]d FOR UPDATE SKIP LOCKED) AND %[3]s`,
		table, keyCols, cond, len(args)+1)
	args = append(args[:len(args):len(args)], PruneBatch)
	var total int64
	for {
		tag, err := q.Exec(ctx, sql, args...)
		if err != nil {
			return total, fmt.Errorf("delete from %s: %w", table, err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < PruneBatch {
			return total, nil
		}
	}
}

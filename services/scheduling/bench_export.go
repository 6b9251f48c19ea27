package scheduling

import "context"

// RollForward extends one doctor's slots to the full horizon from the stored
// availability, as the daily roll-forward job does. Tools that load many doctors'
// availability rows at once (the slots benchmark) call it to materialise their slots
// with the service's own generation rules.
func (s *Service) RollForward(ctx context.Context, doctorID string) error {
	_, err := s.rollForward(ctx, doctorID)
	return err
}

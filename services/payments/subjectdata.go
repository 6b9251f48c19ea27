package payments

import (
	"context"
	"time"

	paymentsv1 "healthcore/gen/healthcore/payments/v1"
	"healthcore/platform/errs"
)

// exportPatientPayments is ExportPatientPayments: every payment of the patient,
// oldest first, with refunds and history, for the patient's data export.
func (s *Service) exportPatientPayments(ctx context.Context, patientID string) ([]*paymentsv1.Payment, error) {
	ids, err := payments.listIDsByPatient(ctx, s.db, patientID)
	if err != nil {
		return nil, errs.Internal("payments: export payments", err)
	}
	out := make([]*paymentsv1.Payment, 0, len(ids))
	for _, id := range ids {
		p, err := payments.get(ctx, s.db, id)
		if err != nil {
			return nil, errs.Internal("payments: export payments", err)
		}
		v, err := view(ctx, s.db, p, true)
		if err != nil {
			return nil, errs.Internal("payments: export payments", err)
		}
		out = append(out, v)
	}
	return out, nil
}

// holdPatientPayments is HoldPatientPayments: the patient's account was erased, and
// tax law keeps the payments until until.
func (s *Service) holdPatientPayments(ctx context.Context, patientID string, until time.Time) (int64, error) {
	n, err := payments.holdByPatient(ctx, s.db, patientID, until)
	if err != nil {
		return 0, errs.Internal("payments: hold payments", err)
	}
	return n, nil
}

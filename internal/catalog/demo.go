package catalog

import (
	"encoding/json"
	"errors"
	"net/http"

	"connectrpc.com/connect"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"

	schedulingv1 "healthcore/gen/healthcore/scheduling/v1"
	"healthcore/gen/healthcore/scheduling/v1/schedulingv1connect"
	"healthcore/services/scheduling"
)

// DemoFlags are the settings `healthcore dev -demo` starts with, unless the command
// line names them too: the shortest windows production's own checks allow (a slot may
// be booked 31 minutes ahead, the least a PIX charge's 30-minute expiry permits, and
// its room opens an hour before its start), so a slot booked now can be joined now.
var DemoFlags = map[string]string{
	"scheduling.min-lead":       "31m",
	"scheduling.payment-window": "31m",
	"telehealth.join-early":     "1h",
}

// EnableDemo lets the finish control (DemoHandler) end a confirmed consultation
// before its window ends. Only dev -demo calls it; no flag reaches it.
func (c *Config) EnableDemo() {
	ServiceConfig[scheduling.Config](c).FinishEarly = true
}

// DemoHandler serves dev -demo's control, which, like the PIX sandbox's approve
// route, has no authentication and stays on loopback:
//
//	POST /demo/appointments/{id}/finish
//
// ends a CONFIRMED appointment's consultation now, as the end of its window would
// (telehealth's call, made as telehealth): COMPLETED when its patient or doctor
// joined the room, else flagged as a no-show. It answers the appointment's id, state
// and noShow, or {code, message} with the status of the gRPC code.
func (p *Process) DemoHandler() http.Handler {
	sched := client(p, "telehealth", "scheduling", schedulingv1connect.NewSchedulingServiceClient)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /demo/appointments/{id}/finish", func(w http.ResponseWriter, r *http.Request) {
		resp, err := sched.FinishAppointment(r.Context(), connect.NewRequest(&schedulingv1.FinishAppointmentRequest{AppointmentId: r.PathValue("id")}))
		if err != nil {
			code := connect.CodeOf(err)
			var ce *connect.Error
			msg := err.Error()
			if errors.As(err, &ce) {
				msg = ce.Message()
			}
			writeDemoJSON(w, runtime.HTTPStatusFromCode(codes.Code(code)), map[string]string{"code": code.String(), "message": msg})
			return
		}
		a := resp.Msg.GetAppointment()
		if a.GetState() != schedulingv1.AppointmentState_APPOINTMENT_STATE_COMPLETED && !a.GetNoShow() {
			writeDemoJSON(w, http.StatusBadRequest, map[string]string{"code": connect.CodeFailedPrecondition.String(),
				"message": "the appointment is " + a.GetState().String() + ": only a CONFIRMED appointment's consultation can be finished"})
			return
		}
		writeDemoJSON(w, http.StatusOK, map[string]any{"id": a.GetId(), "state": a.GetState().String(), "noShow": a.GetNoShow()})
	})
	return mux
}

func writeDemoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

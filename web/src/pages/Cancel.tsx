// The patient's cancellation: a written justification and, before confirming, the
// refund the platform's policy gives now — the amount GetAppointment quotes
// (cancelRefundCents), never one computed here.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, must, type Schemas } from "../api/client";
import { Button, ErrorBanner, money } from "../components";

const when = new Intl.DateTimeFormat("pt-BR", { dateStyle: "long", timeStyle: "short" });

/** The shortest justification the API takes. */
const minJustification = 10;

function Quote({ a }: { a: Schemas["v1Appointment"] }) {
  const cents = Number(a.cancelRefundCents ?? 0);
  if (a.state === "APPOINTMENT_STATE_PENDING_PAYMENT")
    return <p id="refund-quote">Nada foi pago ainda: não há reembolso, e o código PIX deixa de valer.</p>;
  return (
    <p id="refund-quote">
      {cents > 0 ? (
        <>
          Cancelando agora, você recebe de volta <strong>{money(cents)}</strong> de {money(a.price?.amountCents)}, por PIX.
        </>
      ) : (
        <>Cancelando agora, a política de cancelamento não prevê reembolso.</>
      )}
      {a.cancelRefundUntil && (
        <>
          {" "}
          Esse valor vale até <time dateTime={a.cancelRefundUntil}>{when.format(new Date(a.cancelRefundUntil))}</time>; depois, o reembolso é menor.
        </>
      )}
    </p>
  );
}

export function Cancel({ a }: { a: Schemas["v1Appointment"] }) {
  const [open, setOpen] = useState(false);
  const [why, setWhy] = useState("");
  const qc = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => must(api.POST("/v1/appointments/{id}:cancel", { params: { path: { id: a.id! } }, body: { justification: why.trim() } })),
    onSuccess: (r) => {
      qc.setQueryData(["appointment", a.id], { appointment: { ...a, ...r.appointment, history: a.history } });
      void qc.invalidateQueries({ queryKey: ["appointment", a.id] });
      void qc.invalidateQueries({ queryKey: ["appointments"] });
    },
  });
  const short = why.trim().length < minJustification;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!short) cancel.mutate();
  };
  if (!open)
    return (
      <div className="actions">
        <Button type="button" variant="secondary" onClick={() => setOpen(true)}>
          Cancelar consulta
        </Button>
      </div>
    );
  return (
    <section className="card cancel" aria-labelledby="cancel-title">
      <h2 id="cancel-title">Cancelar a consulta</h2>
      <Quote a={a} />
      <form className="form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="cancel-why">Justificativa (o médico verá)</label>
          <textarea id="cancel-why" rows={3} required minLength={minJustification} maxLength={1000} aria-describedby="cancel-why-hint" value={why} onChange={(e) => setWhy(e.target.value)} />
          <div id="cancel-why-hint" className="hint">
            Pelo menos {minJustification} caracteres.
          </div>
        </div>
        <ErrorBanner error={cancel.error} />
        <div className="actions">
          <Button type="submit" busy={cancel.isPending} disabled={short}>
            Confirmar cancelamento
          </Button>
          <Button type="button" variant="secondary" onClick={() => setOpen(false)}>
            Voltar
          </Button>
        </div>
      </form>
    </section>
  );
}

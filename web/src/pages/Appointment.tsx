import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { api, must, type Schemas } from "../api/client";
import { Button, ErrorBanner, Page, money } from "../components";
import { Link } from "../router";
import { appointmentStates, finalStates, paymentStates } from "../states";
import { Cancel } from "./Cancel";
import { Review } from "./Review";

type Payment = Schemas["v1Payment"];
type PaymentStatus = NonNullable<Payment["status"]>;

const when = new Intl.DateTimeFormat("pt-BR", { dateStyle: "full", timeStyle: "short" });
const clock = new Intl.DateTimeFormat("pt-BR", { timeStyle: "short" });

/** The consultation room opens this long before the start (the edge's join window). */
const roomOpensBefore = 10 * 60_000;

/** usePayment follows the appointment's payment with the edge's long-poll: each call
 * answers as soon as the status differs from the one known, or after 25 s unchanged.
 * It follows a paid payment on when a refund is due, until the money is back. */
function usePayment(appointmentId: string, refundDue: boolean) {
  const [payment, setPayment] = useState<Payment | null>(null);
  const [error, setError] = useState<unknown>(null);
  const qc = useQueryClient();
  useEffect(() => {
    let stop = false;
    let known: PaymentStatus | undefined;
    void (async () => {
      while (!stop) {
        try {
          const r = await must(
            api.GET("/v1/appointments/{appointmentId}/payment", {
              params: { path: { appointmentId }, query: { wait: "25s", knownStatus: known } },
            }),
          );
          if (stop) return;
          setError(null);
          if (r.payment) {
            if (r.payment.status !== known) void qc.invalidateQueries({ queryKey: ["appointment", appointmentId] });
            known = r.payment.status;
            setPayment(r.payment);
          }
          if (known && known !== "PAYMENT_STATUS_CREATING" && known !== "PAYMENT_STATUS_PENDING" && !(refundDue && known === "PAYMENT_STATUS_PAID")) return;
        } catch (e) {
          if (stop) return;
          setError(e);
          await new Promise((res) => setTimeout(res, 3000));
        }
      }
    })();
    return () => {
      stop = true;
    };
  }, [appointmentId, refundDue, qc]);
  return { payment, error };
}

function Countdown({ until }: { until: string }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const left = Math.max(0, Math.floor((Date.parse(until) - now) / 1000));
  const mm = String(Math.floor(left / 60)).padStart(2, "0");
  const ss = String(left % 60).padStart(2, "0");
  return (
    <p className="countdown">
      {left > 0 ? (
        <>
          O código vale por mais <strong>
            <time dateTime={`PT${left}S`}>
              {mm}:{ss}
            </time>
          </strong>
        </>
      ) : (
        "O prazo de pagamento terminou."
      )}
    </p>
  );
}

function Pix({ payment }: { payment: Payment }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard?.writeText(payment.qrCode ?? "");
    setCopied(true);
  };
  return (
    <section className="card pix" aria-labelledby="pix-title">
      <h2 id="pix-title">Pague com PIX · {money(payment.amountCents)}</h2>
      <p>Abra o app do seu banco, escolha PIX e leia o QR Code ou cole o código.</p>
      {payment.qrCodeBase64 && <img className="qr" src={`data:image/png;base64,${payment.qrCodeBase64}`} alt="QR Code do PIX" width={220} height={220} />}
      <div className="field">
        <label htmlFor="pix-code">PIX copia e cola</label>
        <textarea id="pix-code" readOnly rows={3} value={payment.qrCode ?? ""} />
      </div>
      <Button variant="secondary" onClick={copy}>
        {copied ? "Código copiado" : "Copiar código"}
      </Button>
      {payment.expireTime && <Countdown until={payment.expireTime} />}
      <p className="muted" role="status">
        Esta página se atualiza sozinha quando o pagamento chegar.
      </p>
    </section>
  );
}

/** Refusal says why (the doctor's words, or that the deadline passed) and the refund. */
function Refusal({ a }: { a: Schemas["v1Appointment"] }) {
  const e = [...(a.history ?? [])].reverse().find((h) => h.toState === "APPOINTMENT_STATE_REFUSED");
  return (
    <>
      {e?.actorRole === "doctor" && e.reason ? <p id="refusal">Motivo da recusa: {e.reason}</p> : e && <p id="refusal">O médico não respondeu no prazo.</p>}
      {a.refundCents && <p id="refund">Reembolso integral: {money(a.refundCents)}.</p>}
    </>
  );
}

export function Appointment({ id }: { id: string }) {
  const appt = useQuery({
    queryKey: ["appointment", id],
    queryFn: () => must(api.GET("/v1/appointments/{id}", { params: { path: { id } } })),
    refetchInterval: (q) => (finalStates.has(q.state.data?.appointment?.state ?? "") ? false : 5000),
  });
  const a = appt.data?.appointment;
  const refundDue = Number(a?.refundCents ?? 0) > 0;
  const { payment, error } = usePayment(id, refundDue);
  const pending = payment?.status === "PAYMENT_STATUS_PENDING" || payment?.status === "PAYMENT_STATUS_CREATING";
  return (
    <Page title="Sua consulta">
      <ErrorBanner error={appt.error ?? error} />
      {a && (
        <section className="card" aria-labelledby="state">
          <p id="state" className={`state ${a.state}`} role="status">
            {appointmentStates[a.state ?? ""] ?? a.state}
          </p>
          <p>{when.format(new Date(a.startTime!))}</p>
          <p className="muted">Motivo: {a.reason}</p>
          {payment && !pending && <p>Pagamento: {paymentStates[payment.status ?? ""] ?? payment.status}</p>}
          {a.state === "APPOINTMENT_STATE_CONFIRMED" && (
            <>
              <p id="room">
                O médico aceitou. A sala de consulta fica aberta das{" "}
                <time dateTime={new Date(Date.parse(a.startTime!) - roomOpensBefore).toISOString()}>{clock.format(Date.parse(a.startTime!) - roomOpensBefore)}</time> às{" "}
                <time dateTime={a.endTime}>{clock.format(new Date(a.endTime!))}</time>.
              </p>
              <p>
                <Link className="btn primary" href={`/app/appointments/${a.id}/room`}>
                  Entrar na sala de consulta
                </Link>
              </p>
            </>
          )}
          {a.state === "APPOINTMENT_STATE_CANCELLED" && (
            <p id="refund">
              {refundDue ? <>Reembolso pela política de cancelamento: {money(a.refundCents)}.</> : "Sem reembolso: nada havia sido pago."}
            </p>
          )}
          {a.state === "APPOINTMENT_STATE_REFUSED" && <Refusal a={a} />}
          {a.state === "APPOINTMENT_STATE_AWAITING_DOCTOR" && a.answerDeadline && (
            <p>O médico responde até {when.format(new Date(a.answerDeadline))}.</p>
          )}
        </section>
      )}
      {pending && payment && <Pix payment={payment} />}
      {a && a.cancelRefundCents !== undefined && <Cancel key={a.state} a={a} />}
      {a?.state === "APPOINTMENT_STATE_COMPLETED" && <Review appointmentId={a.id!} />}
      <p>
        <Link href="/app/appointments">Ver minhas consultas</Link>
      </p>
    </Page>
  );
}

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, must, type Schemas } from "../api/client";
import { Button, ErrorBanner, Field, Page, money } from "../components";
import { Link } from "../router";
import { appointmentStates } from "../states";

type Appt = Schemas["v1Appointment"];

const time = new Intl.DateTimeFormat("pt-BR", { timeStyle: "short" });
const dayName = new Intl.DateTimeFormat("pt-BR", { weekday: "long", day: "numeric", month: "long" });
const when = new Intl.DateTimeFormat("pt-BR", { dateStyle: "medium", timeStyle: "short" });

/** The range shown: one day or seven from the start of the day `offset` steps away. */
function range(view: "day" | "week", offset: number): { from: Date; to: Date } {
  const days = view === "day" ? 1 : 7;
  const from = new Date();
  from.setHours(0, 0, 0, 0);
  from.setDate(from.getDate() + offset * days);
  const to = new Date(from);
  to.setDate(to.getDate() + days);
  return { from, to };
}

/** Pending: the bookings the doctor has not answered yet, the nearest deadline first. */
function Pending({ items }: { items: Appt[] }) {
  return (
    <section aria-labelledby="pending-title">
      <h2 id="pending-title">Aguardando sua resposta</h2>
      {items.length === 0 ? (
        <p className="muted">Nenhum pedido de consulta aguarda resposta.</p>
      ) : (
        <ul className="appointments">
          {items.map((a) => (
            <PendingItem key={a.id} a={a} />
          ))}
        </ul>
      )}
    </section>
  );
}

function PendingItem({ a }: { a: Appt }) {
  const qc = useQueryClient();
  const [refusing, setRefusing] = useState(false);
  const [reason, setReason] = useState("");
  const id = a.id!;
  const done = () => void qc.invalidateQueries({ queryKey: ["agenda"] });
  const accept = useMutation({ mutationFn: () => must(api.POST("/v1/appointments/{id}:accept", { params: { path: { id } }, body: {} })), onSuccess: done });
  const refuse = useMutation({
    mutationFn: () => must(api.POST("/v1/appointments/{id}:refuse", { params: { path: { id } }, body: { reason: reason.trim() } })),
    onSuccess: done,
  });
  const submitRefusal = (e: FormEvent) => {
    e.preventDefault();
    if (reason.trim()) refuse.mutate();
  };
  const label = `Consulta de ${when.format(new Date(a.startTime!))}`;
  return (
    <li className="card pending" aria-label={label}>
      <div className="row">
        <strong>{when.format(new Date(a.startTime!))}</strong>
        <span className="muted">{money(a.price?.amountCents)}</span>
      </div>
      <p>Motivo: {a.reason}</p>
      {a.answerDeadline && (
        <p className="deadline">
          Responda até <time dateTime={a.answerDeadline}>{when.format(new Date(a.answerDeadline))}</time>; sem resposta, o pedido é recusado e o paciente, reembolsado.
        </p>
      )}
      <ErrorBanner error={accept.error ?? refuse.error} />
      {refusing ? (
        <form className="form" onSubmit={submitRefusal} noValidate>
          <div className="field">
            <label htmlFor={`why-${id}`}>Motivo da recusa (o paciente verá)</label>
            <textarea id={`why-${id}`} rows={3} required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
          </div>
          <div className="actions">
            <Button type="submit" busy={refuse.isPending} disabled={!reason.trim()}>
              Confirmar recusa
            </Button>
            <Button type="button" variant="secondary" onClick={() => setRefusing(false)}>
              Voltar
            </Button>
          </div>
        </form>
      ) : (
        <div className="actions">
          <Button type="button" busy={accept.isPending} onClick={() => accept.mutate()}>
            Aceitar
          </Button>
          <Button type="button" variant="secondary" onClick={() => setRefusing(true)}>
            Recusar
          </Button>
        </div>
      )}
    </li>
  );
}

/** The day's or week's appointments, grouped by day. */
function Days({ items }: { items: Appt[] }) {
  const byDay = new Map<string, Appt[]>();
  for (const a of items) {
    const d = dayName.format(new Date(a.startTime!));
    byDay.set(d, [...(byDay.get(d) ?? []), a]);
  }
  if (items.length === 0) return <p className="muted">Nenhuma consulta neste período.</p>;
  return (
    <>
      {[...byDay].map(([day, xs]) => (
        <section key={day} aria-label={day}>
          <h3 className="dayname">{day}</h3>
          <ul className="appointments">
            {xs.map((a) => (
              <li key={a.id} className="card row">
                <span>
                  <time dateTime={a.startTime}>{time.format(new Date(a.startTime!))}</time>–<time dateTime={a.endTime}>{time.format(new Date(a.endTime!))}</time>
                </span>
                <span className={`state ${a.state}`}>{appointmentStates[a.state ?? ""] ?? a.state}</span>
                <span className="muted">{a.reason}</span>
                {a.state === "APPOINTMENT_STATE_CONFIRMED" && <Link href={`/app/appointments/${a.id}/room`}>Sala de consulta</Link>}
              </li>
            ))}
          </ul>
        </section>
      ))}
    </>
  );
}

type Slot = Schemas["v1Slot"];

const slotStates: Record<string, string> = {
  SLOT_STATUS_OPEN: "Livre",
  SLOT_STATUS_BLOCKED: "Bloqueado",
  SLOT_STATUS_BOOKED: "Reservado",
};

/** isoDay is a date input's value (YYYY-MM-DD) for d, in the browser's zone. */
function isoDay(d: Date): string {
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** SlotItem is one slot of the day: its time and status, and, while it is ahead, the
 * button that blocks it (taking it out of booking) or reopens it. */
function SlotItem({ s }: { s: Slot }) {
  const qc = useQueryClient();
  const done = () => void qc.invalidateQueries({ queryKey: ["my-slots"] });
  const path = { params: { path: { slotId: s.id! } }, body: {} };
  const block = useMutation({ mutationFn: () => must(api.POST("/v1/doctors/me/slots/{slotId}:block", path)), onSuccess: done });
  const reopen = useMutation({ mutationFn: () => must(api.POST("/v1/doctors/me/slots/{slotId}:reopen", path)), onSuccess: done });
  const at = time.format(new Date(s.startTime!));
  const ahead = Date.parse(s.startTime!) > Date.now();
  const status = s.status ?? "";
  return (
    <li className={`slot-item ${status === "SLOT_STATUS_BLOCKED" ? "blocked" : ""}`} aria-label={`Horário das ${at}`}>
      <time dateTime={s.startTime}>{at}</time>
      <span className="muted">{slotStates[status] ?? status}</span>
      {ahead && status === "SLOT_STATUS_OPEN" && (
        <Button type="button" variant="secondary" busy={block.isPending} onClick={() => block.mutate()}>
          Bloquear
        </Button>
      )}
      {ahead && status === "SLOT_STATUS_BLOCKED" && (
        <Button type="button" variant="secondary" busy={reopen.isPending} onClick={() => reopen.mutate()}>
          Reabrir
        </Button>
      )}
      <ErrorBanner error={block.error ?? reopen.error} />
    </li>
  );
}

/** DaySlots lists one day's slots (GET /v1/doctors/me/agenda), to block or reopen them. */
function DaySlots() {
  const [dayValue, setDayValue] = useState(() => isoDay(new Date()));
  const from = new Date(`${dayValue}T00:00:00`);
  const to = new Date(from);
  to.setDate(to.getDate() + 1);
  const valid = !Number.isNaN(from.getTime());
  const slots = useQuery({
    queryKey: ["my-slots", dayValue],
    queryFn: () => must(api.GET("/v1/doctors/me/agenda", { params: { query: { startTime: from.toISOString(), endTime: to.toISOString() } } })),
    enabled: valid,
  });
  const list = slots.data?.slots ?? [];
  return (
    <section aria-labelledby="slots-title">
      <h2 id="slots-title">Horários do dia</h2>
      <p className="muted">Bloqueie um horário livre para tirá-lo da agenda dos pacientes; reabra-o quando quiser. Consultas já marcadas não mudam.</p>
      <div className="day-picker">
        <Field label="Dia" type="date" value={dayValue} onChange={(e) => setDayValue(e.target.value)} />
      </div>
      <ErrorBanner error={slots.error} />
      {slots.isSuccess && list.length === 0 && <p className="muted">Nenhum horário neste dia.</p>}
      {list.length > 0 && (
        <ul className="slot-list" aria-label={`Horários de ${dayName.format(from)}`}>
          {list.map((s) => (
            <SlotItem key={s.id} s={s} />
          ))}
        </ul>
      )}
    </section>
  );
}

export function Agenda() {
  const [view, setView] = useState<"day" | "week">("week");
  const [offset, setOffset] = useState(0);
  const { from, to } = range(view, offset);
  const pending = useQuery({
    queryKey: ["agenda", "pending"],
    queryFn: () => must(api.GET("/v1/appointments", { params: { query: { states: ["APPOINTMENT_STATE_AWAITING_DOCTOR"], pageSize: 50 } } })),
    refetchInterval: 15_000,
  });
  const period = useQuery({
    queryKey: ["agenda", view, offset],
    queryFn: () =>
      must(
        api.GET("/v1/appointments", {
          params: {
            query: {
              states: ["APPOINTMENT_STATE_AWAITING_DOCTOR", "APPOINTMENT_STATE_CONFIRMED", "APPOINTMENT_STATE_COMPLETED"],
              startTime: from.toISOString(),
              endTime: to.toISOString(),
              pageSize: 100,
            },
          },
        }),
      ),
    refetchInterval: 15_000,
  });
  const waiting = [...(pending.data?.appointments ?? [])].sort((a, b) => Date.parse(a.answerDeadline ?? a.startTime!) - Date.parse(b.answerDeadline ?? b.startTime!));
  const last = new Date(to.getTime() - 1);
  const title = view === "day" ? dayName.format(from) : `${dayName.format(from)} a ${dayName.format(last)}`;
  return (
    <Page title="Minha agenda" wide>
      <ErrorBanner error={pending.error ?? period.error} />
      {pending.isSuccess && <Pending items={waiting} />}
      <section aria-labelledby="period-title">
        <h2 id="period-title">Consultas · {title}</h2>
        <div className="actions toolbar">
          <div role="group" aria-label="Ver por" className="actions">
            <Button type="button" variant={view === "day" ? "primary" : "secondary"} aria-pressed={view === "day"} onClick={() => (setView("day"), setOffset(0))}>
              Dia
            </Button>
            <Button type="button" variant={view === "week" ? "primary" : "secondary"} aria-pressed={view === "week"} onClick={() => (setView("week"), setOffset(0))}>
              Semana
            </Button>
          </div>
          <div role="group" aria-label="Período" className="actions">
            <Button type="button" variant="secondary" onClick={() => setOffset(offset - 1)}>
              Anterior
            </Button>
            <Button type="button" variant="secondary" onClick={() => setOffset(0)}>
              Hoje
            </Button>
            <Button type="button" variant="secondary" onClick={() => setOffset(offset + 1)}>
              Próximo
            </Button>
          </div>
        </div>
        {period.isSuccess && <Days items={period.data.appointments ?? []} />}
      </section>
      <DaySlots />
    </Page>
  );
}

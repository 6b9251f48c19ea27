import { useMutation, useQuery } from "@tanstack/react-query";
import { useMemo, useState, type FormEvent } from "react";
import { api, must, type Schemas } from "../api/client";
import { Button, ErrorBanner, Page, money } from "../components";
import { navigate } from "../router";
import { useSession } from "../session";

const patientZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const dayFmt = new Intl.DateTimeFormat("pt-BR", { weekday: "long", day: "2-digit", month: "2-digit" });
const timeFmt = new Intl.DateTimeFormat("pt-BR", { hour: "2-digit", minute: "2-digit" });

function newKey(): string {
  return crypto.randomUUID();
}

export function Doctor({ id }: { id: string }) {
  const { account } = useSession();
  const [week, setWeek] = useState(0);
  const [slot, setSlot] = useState<Schemas["v1Slot"] | null>(null);
  const [reason, setReason] = useState("");
  const [key] = useState(newKey);
  const doctor = useQuery({ queryKey: ["doctor", id], queryFn: () => must(api.GET("/v1/doctors/{doctorId}", { params: { path: { doctorId: id } } })) });
  const range = useMemo(() => {
    const start = new Date(Date.now() + week * 7 * 86400_000);
    return { startTime: start.toISOString(), endTime: new Date(start.getTime() + 7 * 86400_000).toISOString() };
  }, [week]);
  const slots = useQuery({
    queryKey: ["slots", id, range],
    queryFn: () => must(api.GET("/v1/doctors/{doctorId}/slots", { params: { path: { doctorId: id }, query: range } })),
  });
  const book = useMutation({
    mutationFn: () => must(api.POST("/v1/appointments", { body: { slotId: slot!.id, reason, idempotencyKey: key } })),
    onSuccess: (r) => navigate(`/app/appointments/${r.appointment?.id}`),
  });
  const days = useMemo(() => {
    const out = new Map<string, Schemas["v1Slot"][]>();
    for (const s of slots.data?.slots ?? []) {
      if (s.status !== "SLOT_STATUS_OPEN") continue;
      const d = dayFmt.format(new Date(s.startTime!));
      out.set(d, [...(out.get(d) ?? []), s]);
    }
    return [...out.entries()];
  }, [slots.data]);
  const p = doctor.data?.profile;
  const doctorZone = slots.data?.timeZone || p?.timeZone;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!account) navigate(`/app/login?next=${encodeURIComponent(location.pathname)}`);
    else book.mutate();
  };

  return (
    <Page title={p?.displayName ?? "Médico"} wide>
      <ErrorBanner error={doctor.error} />
      {p && (
        <section className="card profile" aria-label="Perfil">
          <p className="muted">
            {p.specialties?.map((s) => s.name).join(", ")} · CRM {p.crmNumber}/{p.crmUf} · {p.location?.city}/{p.location?.uf}
          </p>
          <p>
            <span className="rating">★ {p.ratingCount ? p.ratingAverage?.toFixed(1).replace(".", ",") : "novo"}</span>
            {p.ratingCount ? ` · ${p.ratingCount} avaliações` : ""} · consulta de {p.consultationMinutes} min ·{" "}
            <strong className="price">{money(p.price?.amountCents)}</strong>
          </p>
          {p.bio && <p>{p.bio}</p>}
          {doctor.data?.latestReviews?.length ? (
            <>
              <h2>Avaliações</h2>
              <ul className="reviews">
                {doctor.data.latestReviews.map((r) => (
                  <li key={r.id}>
                    <span className="rating">{"★".repeat(r.stars ?? 0)}</span> {r.comment}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </section>
      )}
      <section className="card" aria-labelledby="slots-title">
        <h2 id="slots-title">Horários disponíveis</h2>
        <p className="muted">
          Horários no seu fuso ({patientZone})
          {doctorZone && doctorZone !== patientZone ? `; o médico atende no fuso ${doctorZone}` : ""}.
        </p>
        <div className="actions">
          <Button variant="secondary" disabled={week === 0} onClick={() => setWeek(week - 1)}>
            Semana anterior
          </Button>
          <Button variant="secondary" onClick={() => setWeek(week + 1)}>
            Próxima semana
          </Button>
        </div>
        <ErrorBanner error={slots.error} />
        {slots.isSuccess && days.length === 0 && <p className="muted">Nenhum horário livre nesta semana.</p>}
        <div className="week">
          {days.map(([day, list]) => (
            <fieldset key={day} className="day">
              <legend>{day}</legend>
              {list.slice(0, 12).map((s) => (
                <label key={s.id} className={slot?.id === s.id ? "slot chosen" : "slot"}>
                  <input type="radio" name="slot" value={s.id} checked={slot?.id === s.id} onChange={() => setSlot(s)} />
                  {timeFmt.format(new Date(s.startTime!))}
                </label>
              ))}
            </fieldset>
          ))}
        </div>
      </section>
      {slot && (
        <form className="card form" onSubmit={submit} aria-label="Agendar">
          <h2>Agendar</h2>
          <p>
            {dayFmt.format(new Date(slot.startTime!))}, às {timeFmt.format(new Date(slot.startTime!))} ·{" "}
            {money(slots.data?.price?.amountCents ?? p?.price?.amountCents)}
          </p>
          <div className="field">
            <label htmlFor="reason">Motivo da consulta</label>
            <textarea id="reason" required maxLength={1000} rows={3} value={reason} onChange={(e) => setReason(e.target.value)} />
          </div>
          <ErrorBanner error={book.error} />
          <Button type="submit" busy={book.isPending} disabled={!reason.trim()}>
            Agendar e pagar com PIX
          </Button>
        </form>
      )}
    </Page>
  );
}

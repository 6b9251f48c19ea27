// The doctor's weekly availability: windows per weekday, date exceptions (a day off or
// an extra window), the slot length and the pause between slots. Saving replaces the
// availability and the platform regenerates the slots at once; the preview below is
// the platform's own listing of the free slots it generated (the slots patients see),
// never one computed here.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { api, must, type Schemas } from "../api/client";
import { Button, ErrorBanner, Field, Page, Select } from "../components";
import { Link } from "../router";
import { useSession } from "../session";

type Availability = Schemas["v1Availability"];
type Weekday = NonNullable<Schemas["v1WeeklyWindow"]["weekday"]>;
type Kind = NonNullable<Schemas["v1DateException"]["kind"]>;
type Window = { weekday: Weekday; startTime: string; endTime: string };
type Exception = { date: string; kind: Kind; startTime: string; endTime: string };

const weekdays: Array<[Weekday, string]> = [
  ["WEEKDAY_MONDAY", "Segunda-feira"],
  ["WEEKDAY_TUESDAY", "Terça-feira"],
  ["WEEKDAY_WEDNESDAY", "Quarta-feira"],
  ["WEEKDAY_THURSDAY", "Quinta-feira"],
  ["WEEKDAY_FRIDAY", "Sexta-feira"],
  ["WEEKDAY_SATURDAY", "Sábado"],
  ["WEEKDAY_SUNDAY", "Domingo"],
];

function Preview({ doctorId, version, zone }: { doctorId: string; version: number; zone: string }) {
  const range = useMemo(() => {
    const start = new Date();
    return { startTime: start.toISOString(), endTime: new Date(start.getTime() + 7 * 86400_000).toISOString(), v: version };
  }, [version]);
  const slots = useQuery({
    queryKey: ["slots", doctorId, range],
    queryFn: () => must(api.GET("/v1/doctors/{doctorId}/slots", { params: { path: { doctorId }, query: { startTime: range.startTime, endTime: range.endTime } } })),
  });
  const days = new Map<string, string[]>();
  const dayFmt = new Intl.DateTimeFormat("pt-BR", { weekday: "long", day: "2-digit", month: "2-digit", timeZone: zone });
  const timeFmt = new Intl.DateTimeFormat("pt-BR", { hour: "2-digit", minute: "2-digit", timeZone: zone });
  for (const s of slots.data?.slots ?? []) {
    const d = new Date(s.startTime!);
    const key = dayFmt.format(d);
    days.set(key, [...(days.get(key) ?? []), timeFmt.format(d)]);
  }
  const total = slots.data?.slots?.length ?? 0;
  return (
    <section className="card" aria-labelledby="preview-title">
      <h2 id="preview-title">Horários livres nos próximos 7 dias</h2>
      <ErrorBanner error={slots.error} />
      <p id="preview-count" className="muted">
        {slots.isPending ? "Carregando…" : total === 0 ? "Nenhum horário livre: os pacientes não conseguem agendar." : `${total} horários livres, no fuso ${zone} (os que começam em menos que a antecedência mínima não aparecem).`}
      </p>
      <div className="preview">
        {[...days].map(([day, times]) => (
          <section key={day} className="preview-day" aria-label={day}>
            <h3 className="dayname">{day}</h3>
            <p>{times.join(" · ")}</p>
          </section>
        ))}
      </div>
    </section>
  );
}

export function AvailabilityEditor() {
  const { account } = useSession();
  const qc = useQueryClient();
  const stored = useQuery({ queryKey: ["my-availability"], queryFn: () => must(api.GET("/v1/doctors/me/availability")) });
  const [weekly, setWeekly] = useState<Window[]>([]);
  const [exceptions, setExceptions] = useState<Exception[]>([]);
  const [slotMinutes, setSlotMinutes] = useState("");
  const [gapMinutes, setGapMinutes] = useState("");
  const [version, setVersion] = useState(0);
  useEffect(() => {
    const a: Availability | undefined = stored.data?.availability;
    if (!stored.data) return;
    setWeekly((a?.weekly ?? []).map((w) => ({ weekday: w.weekday!, startTime: w.startTime ?? "", endTime: w.endTime ?? "" })));
    setExceptions((a?.exceptions ?? []).map((x) => ({ date: x.date ?? "", kind: x.kind!, startTime: x.startTime ?? "", endTime: x.endTime ?? "" })));
    setSlotMinutes(a?.slotMinutes ? String(a.slotMinutes) : "");
    setGapMinutes(a?.gapMinutes ? String(a.gapMinutes) : "");
  }, [stored.data]);
  const save = useMutation({
    mutationFn: () =>
      must(
        api.PUT("/v1/doctors/me/availability", {
          body: {
            weekly,
            exceptions: exceptions.map((x) => (x.kind === "EXCEPTION_KIND_DAY_OFF" ? { date: x.date, kind: x.kind } : x)),
            slotMinutes: Number(slotMinutes || 0),
            gapMinutes: Number(gapMinutes || 0),
          },
        }),
      ),
    onSuccess: (r) => {
      qc.setQueryData(["my-availability"], { availability: r.availability, timeZone: r.timeZone });
      setVersion((v) => v + 1);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  const zone = stored.data?.timeZone || "America/Sao_Paulo";
  const setWindow = (i: number, w: Partial<Window>) => setWeekly(weekly.map((x, j) => (j === i ? { ...x, ...w } : x)));
  const setException = (i: number, x: Partial<Exception>) => setExceptions(exceptions.map((y, j) => (j === i ? { ...y, ...x } : y)));
  return (
    <Page title="Horários de atendimento" wide>
      <p className="muted">
        Horários no fuso da sua agenda ({zone}). Consultas já marcadas nunca são movidas. <Link href="/app/doctor/profile">Editar meu perfil</Link>
      </p>
      <ErrorBanner error={stored.error} />
      <form className="form" onSubmit={submit} noValidate>
        <section className="card" aria-labelledby="weekly-title">
          <h2 id="weekly-title">Semana</h2>
          <p className="muted">Cada dia pode ter mais de um horário, sem sobreposição. Para atender até a meia-noite, termine às 23:59.</p>
          <div className="week-grid">
            {weekdays.map(([day, name]) => (
              <fieldset key={day} className="weekday">
                <legend>{name}</legend>
                {weekly.map((w, i) =>
                  w.weekday !== day ? null : (
                    <div key={i} className="window">
                      <Field label={`Início (${name})`} type="time" value={w.startTime} onChange={(e) => setWindow(i, { startTime: e.target.value })} />
                      <Field label={`Fim (${name})`} type="time" value={w.endTime === "24:00" ? "23:59" : w.endTime} onChange={(e) => setWindow(i, { endTime: e.target.value === "23:59" ? "24:00" : e.target.value })} />
                      <Button type="button" variant="secondary" onClick={() => setWeekly(weekly.filter((_, j) => j !== i))}>
                        Remover <span className="sr-only">horário de {name}, {w.startTime}–{w.endTime}</span>
                      </Button>
                    </div>
                  ),
                )}
                <Button type="button" variant="secondary" onClick={() => setWeekly([...weekly, { weekday: day, startTime: "08:00", endTime: "12:00" }])}>
                  + Horário <span className="sr-only">({name})</span>
                </Button>
              </fieldset>
            ))}
          </div>
        </section>
        <section className="card" aria-labelledby="exceptions-title">
          <h2 id="exceptions-title">Exceções</h2>
          {exceptions.length === 0 && <p className="muted">Nenhuma: folgas ou horários extras em datas específicas.</p>}
          {exceptions.map((x, i) => (
            <fieldset key={i} className="window">
              <legend className="sr-only">Exceção {i + 1}</legend>
              <Field label={`Data (exceção ${i + 1})`} type="date" value={x.date} onChange={(e) => setException(i, { date: e.target.value })} />
              <Select label={`Tipo (exceção ${i + 1})`} value={x.kind} onChange={(e) => setException(i, { kind: e.target.value as Kind })}>
                <option value="EXCEPTION_KIND_DAY_OFF">Folga (sem horários)</option>
                <option value="EXCEPTION_KIND_EXTRA">Horário extra</option>
              </Select>
              {x.kind === "EXCEPTION_KIND_EXTRA" && (
                <>
                  <Field label={`Início (exceção ${i + 1})`} type="time" value={x.startTime} onChange={(e) => setException(i, { startTime: e.target.value })} />
                  <Field label={`Fim (exceção ${i + 1})`} type="time" value={x.endTime} onChange={(e) => setException(i, { endTime: e.target.value })} />
                </>
              )}
              <Button type="button" variant="secondary" onClick={() => setExceptions(exceptions.filter((_, j) => j !== i))}>
                Remover exceção {i + 1}
              </Button>
            </fieldset>
          ))}
          <Button type="button" variant="secondary" onClick={() => setExceptions([...exceptions, { date: "", kind: "EXCEPTION_KIND_DAY_OFF", startTime: "", endTime: "" }])}>
            + Exceção
          </Button>
        </section>
        <section className="card pair" aria-label="Duração">
          <Field label="Duração de cada horário (minutos)" type="number" min={10} max={240} value={slotMinutes} onChange={(e) => setSlotMinutes(e.target.value)} hint="Vazio: a duração da consulta do seu perfil." />
          <Field label="Intervalo entre horários (minutos)" type="number" min={0} max={120} value={gapMinutes} onChange={(e) => setGapMinutes(e.target.value)} />
        </section>
        <ErrorBanner error={save.error} />
        {save.data && (
          <p id="saved" className="banner ok" role="status">
            Horários salvos: {save.data.slotsCreated ?? 0} horários criados, {save.data.slotsRemoved ?? 0} removidos.
            {(save.data.conflicts?.length ?? 0) > 0 && ` ${save.data.conflicts!.length} consultas marcadas ficaram fora dos novos horários: elas continuam na sua agenda.`}
          </p>
        )}
        <div className="actions">
          <Button type="submit" busy={save.isPending}>
            Salvar horários
          </Button>
        </div>
      </form>
      {account && <Preview doctorId={account.id!} version={version} zone={zone} />}
    </Page>
  );
}

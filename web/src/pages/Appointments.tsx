import { useQuery } from "@tanstack/react-query";
import { api, must } from "../api/client";
import { ErrorBanner, Page, money } from "../components";
import { Link } from "../router";
import { appointmentStates } from "../states";

const when = new Intl.DateTimeFormat("pt-BR", { dateStyle: "medium", timeStyle: "short" });

export function Appointments() {
  const list = useQuery({ queryKey: ["appointments"], queryFn: () => must(api.GET("/v1/appointments", { params: { query: { pageSize: 50 } } })) });
  const now = Date.now();
  const all = list.data?.appointments ?? [];
  const upcoming = all.filter((a) => Date.parse(a.endTime!) >= now);
  const past = all.filter((a) => Date.parse(a.endTime!) < now);
  const section = (title: string, items: typeof all) => (
    <section aria-label={title}>
      <h2>{title}</h2>
      {items.length === 0 ? (
        <p className="muted">Nenhuma.</p>
      ) : (
        <ul className="appointments">
          {items.map((a) => (
            <li key={a.id} className="card row">
              <Link href={`/app/appointments/${a.id}`}>{when.format(new Date(a.startTime!))}</Link>
              <span className={`state ${a.state}`}>{appointmentStates[a.state ?? ""] ?? a.state}</span>
              <span className="muted">{money(a.price?.amountCents)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
  return (
    <Page title="Minhas consultas">
      <ErrorBanner error={list.error} />
      {list.isSuccess && (
        <>
          {section("Próximas", upcoming)}
          {section("Anteriores", past)}
        </>
      )}
      <p>
        <Link href="/app/doctors">Agendar outra consulta</Link>
      </p>
    </Page>
  );
}

import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import { Button, ErrorBanner, Page, Select, money } from "../components";
import { Link } from "../router";

/** Cities a patient can search around when the browser's location is not shared. */
export const cities: Array<{ name: string; lat: number; lon: number }> = [
  { name: "São Paulo (SP)", lat: -23.5505, lon: -46.6333 },
  { name: "Rio de Janeiro (RJ)", lat: -22.9068, lon: -43.1729 },
  { name: "Belo Horizonte (MG)", lat: -19.9167, lon: -43.9345 },
  { name: "Brasília (DF)", lat: -15.7939, lon: -47.8828 },
  { name: "Salvador (BA)", lat: -12.9714, lon: -38.5014 },
  { name: "Curitiba (PR)", lat: -25.4284, lon: -49.2733 },
  { name: "Porto Alegre (RS)", lat: -30.0346, lon: -51.2177 },
  { name: "Recife (PE)", lat: -8.0476, lon: -34.877 },
];

type Filters = { specialty: string; city: string; distance: string; minRating: string; sort: string };

export function Search() {
  const [draft, setDraft] = useState<Filters>({ specialty: "", city: cities[0].name, distance: "50", minRating: "0", sort: "SORT_ORDER_UNSPECIFIED" });
  const [filters, setFilters] = useState<Filters>(draft);
  const [here, setHere] = useState<{ lat: number; lon: number } | null>(null);
  const specialties = useQuery({ queryKey: ["specialties"], queryFn: () => must(api.GET("/v1/specialties")), staleTime: 3600_000 });
  const point = here ?? cities.find((c) => c.name === filters.city) ?? cities[0];
  const results = useInfiniteQuery({
    queryKey: ["search", filters, point],
    initialPageParam: "",
    queryFn: ({ pageParam }) =>
      must(
        api.GET("/v1/doctors", {
          params: {
            query: {
              specialty: filters.specialty || undefined,
              "point.latitude": point.lat,
              "point.longitude": point.lon,
              maxDistanceKm: filters.distance ? Number(filters.distance) : undefined,
              minRating: Number(filters.minRating) || undefined,
              sort: filters.sort as "SORT_ORDER_UNSPECIFIED",
              pageSize: 10,
              pageToken: pageParam || undefined,
            },
          },
        }),
      ),
    getNextPageParam: (last) => last.nextPageToken || undefined,
  });
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
  };
  const locate = () =>
    navigator.geolocation?.getCurrentPosition((p) => setHere({ lat: p.coords.latitude, lon: p.coords.longitude }));
  const list = results.data?.pages.flatMap((p) => p.results ?? []) ?? [];

  return (
    <Page title="Encontre um médico" wide>
      <form className="card filters" onSubmit={submit} role="search" aria-label="Filtros da busca">
        <Select label="Especialidade" value={draft.specialty} onChange={set("specialty")}>
          <option value="">Todas</option>
          {specialties.data?.specialties?.map((s) => (
            <option key={s.code} value={s.code}>
              {s.name}
            </option>
          ))}
        </Select>
        <Select label="Perto de" value={draft.city} onChange={set("city")} disabled={here !== null}>
          {cities.map((c) => (
            <option key={c.name}>{c.name}</option>
          ))}
        </Select>
        <Select label="Distância" value={draft.distance} onChange={set("distance")}>
          <option value="10">até 10 km</option>
          <option value="50">até 50 km</option>
          <option value="200">até 200 km</option>
          <option value="">qualquer</option>
        </Select>
        <Select label="Avaliação mínima" value={draft.minRating} onChange={set("minRating")}>
          <option value="0">qualquer</option>
          <option value="3">3 estrelas ou mais</option>
          <option value="4">4 estrelas ou mais</option>
          <option value="4.5">4,5 estrelas ou mais</option>
        </Select>
        <Select label="Ordenar por" value={draft.sort} onChange={set("sort")}>
          <option value="SORT_ORDER_UNSPECIFIED">distância</option>
          <option value="SORT_ORDER_RATING">avaliação</option>
          <option value="SORT_ORDER_PRICE">preço</option>
        </Select>
        <div className="actions">
          <Button type="submit">Buscar</Button>
          <Button type="button" variant="secondary" onClick={here ? () => setHere(null) : locate}>
            {here ? "Usar a cidade" : "Usar minha localização"}
          </Button>
        </div>
      </form>
      <ErrorBanner error={results.error} />
      <section aria-live="polite" aria-busy={results.isFetching}>
        {results.isSuccess && list.length === 0 && <p className="muted">Nenhum médico encontrado com esses filtros.</p>}
        <ul className="results">
          {list.map((r) => {
            const p = r.profile!;
            return (
              <li key={p.doctorId} className="card doctor">
                <div className="avatar" aria-hidden="true">
                  {(p.displayName ?? "?").replace(/^Dr[a]?\.\s*/, "").slice(0, 1)}
                </div>
                <div className="info">
                  <h2>
                    <Link href={`/app/doctors/${p.doctorId}`}>{p.displayName}</Link>
                  </h2>
                  <p className="muted">
                    {p.specialties?.map((s) => s.name).join(", ")} · CRM {p.crmNumber}/{p.crmUf}
                  </p>
                  <p>
                    <span className="rating">★ {p.ratingCount ? p.ratingAverage?.toFixed(1).replace(".", ",") : "novo"}</span>
                    {p.ratingCount ? ` (${p.ratingCount} avaliações)` : ""} · {p.location?.city}
                    {r.distanceKm !== undefined ? ` · ${r.distanceKm.toFixed(0)} km` : ""}
                  </p>
                </div>
                <div className="price">{money(p.price?.amountCents)}</div>
              </li>
            );
          })}
        </ul>
        {results.hasNextPage && (
          <Button variant="secondary" onClick={() => results.fetchNextPage()} busy={results.isFetchingNextPage}>
            Mostrar mais
          </Button>
        )}
      </section>
    </Page>
  );
}

// The doctor's profile editor: what patients see (name, presentation, specialties with
// RQE, price, consultation length, languages, where and in which time zone). Saving
// replaces the whole profile (PUT), so what the form does not edit (the photo, the map
// point) goes back as it was read. The answer says what still keeps it out of search.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { api, must, type Schemas } from "../api/client";
import { Button, ErrorBanner, Field, Page, Select } from "../components";
import { ApiError } from "../errors";
import { UfSelect } from "../fields";
import { Link } from "../router";

type Profile = Schemas["v1Profile"];

const zones: Record<string, string> = {
  "America/Sao_Paulo": "Brasília (São Paulo)",
  "America/Manaus": "Manaus",
  "America/Cuiaba": "Cuiabá",
  "America/Porto_Velho": "Porto Velho",
  "America/Boa_Vista": "Boa Vista",
  "America/Rio_Branco": "Rio Branco",
  "America/Noronha": "Fernando de Noronha",
};
const missingNames: Record<string, string> = {
  specialties: "ao menos uma especialidade",
  price: "o preço da consulta",
  location: "o local de atendimento",
  time_zone: "o fuso horário",
  verification: "a verificação do seu CRM",
};

type Form = {
  displayName: string;
  bio: string;
  price: string;
  minutes: string;
  languages: string;
  specialties: Record<string, string>; // code → RQE
  address: string;
  city: string;
  uf: string;
  timeZone: string;
};

function formOf(p: Profile | undefined): Form {
  return {
    displayName: p?.displayName ?? "",
    bio: p?.bio ?? "",
    price: p?.price?.amountCents && p.price.amountCents !== "0" ? (Number(p.price.amountCents) / 100).toFixed(2).replace(".", ",") : "",
    minutes: p?.consultationMinutes ? String(p.consultationMinutes) : "",
    languages: (p?.languages ?? []).join(", "),
    specialties: Object.fromEntries((p?.specialties ?? []).map((s) => [s.code ?? "", s.rqe ?? ""])),
    address: p?.location?.address ?? "",
    city: p?.location?.city ?? "",
    uf: p?.location?.uf ?? "SP",
    timeZone: p?.timeZone || "America/Sao_Paulo",
  };
}

/** cents reads "250,00" or "250" as centavos. */
function cents(s: string): number {
  const n = Number(s.replace(/\./g, "").replace(",", "."));
  return Number.isFinite(n) ? Math.round(n * 100) : NaN;
}

export function DoctorProfile() {
  const qc = useQueryClient();
  const mine = useQuery({ queryKey: ["my-profile"], queryFn: () => must(api.GET("/v1/doctors/me/profile")), retry: false });
  const specialties = useQuery({ queryKey: ["specialties"], queryFn: () => must(api.GET("/v1/specialties")), staleTime: 3600_000 });
  const [f, setF] = useState<Form>(formOf(undefined));
  const [priceError, setPriceError] = useState("");
  const [adding, setAdding] = useState("");
  const names = new Map((specialties.data?.specialties ?? []).map((x) => [x.code ?? "", x.name ?? ""]));
  useEffect(() => {
    if (mine.data) setF(formOf(mine.data.profile));
  }, [mine.data]);
  const save = useMutation({
    mutationFn: () => {
      const p = mine.data?.profile;
      return must(
        api.PUT("/v1/doctors/me/profile", {
          body: {
            displayName: f.displayName.trim(),
            photoUrl: p?.photoUrl ?? "",
            bio: f.bio,
            specialties: Object.entries(f.specialties).map(([code, rqe]) => ({ code, rqe: rqe.trim() })),
            priceCents: String(f.price ? cents(f.price) : 0),
            consultationMinutes: Number(f.minutes || 0),
            languages: f.languages
              .split(",")
              .map((x) => x.trim())
              .filter(Boolean),
            location: f.city || f.address ? { address: f.address.trim(), city: f.city.trim(), uf: f.uf, point: p?.location?.point } : undefined,
            timeZone: f.timeZone,
          },
        }),
      );
    },
    onSuccess: (r) => {
      qc.setQueryData(["my-profile"], r);
    },
  });
  const set = (k: keyof Form) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (f.price && !(cents(f.price) >= 0)) {
      setPriceError("Informe o preço em reais, por exemplo 250,00.");
      return;
    }
    setPriceError("");
    save.mutate();
  };
  const fields = save.error instanceof ApiError ? save.error.fields : {};
  const missing = (save.data ?? mine.data)?.missing ?? [];
  const listed = (save.data ?? mine.data)?.profile?.listed;
  return (
    <Page title="Meu perfil">
      <p className="muted">
        É o que os pacientes veem na busca e na sua página. <Link href="/app/doctor/availability">Editar horários de atendimento</Link>
      </p>
      <ErrorBanner error={mine.error && !(mine.error instanceof ApiError && mine.error.status === 404) ? mine.error : null} />
      <p id="listing" className={listed ? "banner ok" : "banner error"} role="status">
        {listed ? "Seu perfil aparece na busca." : `Seu perfil ainda não aparece na busca: falta ${missing.map((m) => missingNames[m] ?? m).join(", ") || "salvar"}.`}
      </p>
      <form className="card form" onSubmit={submit} noValidate>
        <Field label="Nome exibido" value={f.displayName} onChange={set("displayName")} required minLength={2} maxLength={200} hint="Como os pacientes verão, por exemplo “Dra. Ana Souza”." error={fields.displayName} />
        <div className="field">
          <label htmlFor="bio">Apresentação</label>
          <textarea id="bio" rows={4} maxLength={2000} value={f.bio} onChange={set("bio")} />
        </div>
        <fieldset className="choices">
          <legend>Especialidades (até 5)</legend>
          {Object.keys(f.specialties).length === 0 && <p className="muted">Nenhuma ainda: sem especialidade o perfil não aparece na busca.</p>}
          {Object.entries(f.specialties).map(([code, rqe]) => {
            const name = names.get(code) ?? code;
            return (
              <div key={code} className="window choice">
                <Field label={`RQE em ${name}`} inputMode="numeric" value={rqe} hint="Vazio se não tiver." onChange={(e) => setF({ ...f, specialties: { ...f.specialties, [code]: e.target.value.replace(/\D/g, "").slice(0, 8) } })} />
                <Button
                  type="button"
                  variant="secondary"
                  onClick={() => {
                    const next = { ...f.specialties };
                    delete next[code];
                    setF({ ...f, specialties: next });
                  }}
                >
                  Remover {name}
                </Button>
              </div>
            );
          })}
          {Object.keys(f.specialties).length < 5 && (
            <div className="window">
              <Select label="Adicionar especialidade" value={adding} onChange={(e) => setAdding(e.target.value)}>
                <option value="">Escolha…</option>
                {specialties.data?.specialties
                  ?.filter((x) => !(x.code! in f.specialties))
                  .map((x) => (
                    <option key={x.code} value={x.code}>
                      {x.name}
                    </option>
                  ))}
              </Select>
              <Button
                type="button"
                variant="secondary"
                disabled={!adding}
                onClick={() => {
                  setF({ ...f, specialties: { ...f.specialties, [adding]: "" } });
                  setAdding("");
                }}
              >
                Adicionar
              </Button>
            </div>
          )}
        </fieldset>
        <div className="pair">
          <Field label="Preço da consulta (R$)" inputMode="decimal" value={f.price} onChange={set("price")} hint="Por exemplo 250,00." error={priceError || fields.priceCents} />
          <Field label="Duração da consulta (minutos)" type="number" min={10} max={240} value={f.minutes} onChange={set("minutes")} hint="Vazio: 50 minutos." error={fields.consultationMinutes} />
        </div>
        <Field label="Idiomas" value={f.languages} onChange={set("languages")} hint="Separados por vírgula, por exemplo pt-BR, en." error={fields.languages} />
        <Field label="Endereço" value={f.address} onChange={set("address")} error={fields["location.address"]} />
        <div className="pair">
          <Field label="Cidade" value={f.city} onChange={set("city")} error={fields["location.city"]} />
          <UfSelect label="UF" value={f.uf} onChange={(uf) => setF({ ...f, uf })} />
        </div>
        <Select label="Fuso horário da agenda" value={f.timeZone} onChange={set("timeZone")}>
          {[...new Set([f.timeZone, ...Object.keys(zones)])].map((z) => (
            <option key={z} value={z}>
              {zones[z] ?? z}
            </option>
          ))}
        </Select>
        <ErrorBanner error={save.error} />
        {save.isSuccess && (
          <p className="banner ok" role="status">
            Perfil salvo.
          </p>
        )}
        <div className="actions">
          <Button type="submit" busy={save.isPending}>
            Salvar perfil
          </Button>
        </div>
      </form>
    </Page>
  );
}

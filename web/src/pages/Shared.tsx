import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { api, must, type Schemas } from "../api/client";
import { Button, ErrorBanner, OkBanner, Page } from "../components";
import { examDay, formatSize, kinds } from "../records";
import { download } from "../recordsApi";
import "../record.css";

const when = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short", timeStyle: "short" });

/** The doctor's "shared with me": what patients shared, each until its grant ends. The
 * grant is checked again on every download, so a revoked or ended share is refused with
 * the API's reason even while this list still shows it. */
export function Shared() {
  const qc = useQueryClient();
  const list = useQuery({ queryKey: ["shared-with-me"], queryFn: () => must(api.GET("/v1/records/shared-with-me")) });
  const [error, setError] = useState<{ title: string; error: unknown } | null>(null);
  const [busy, setBusy] = useState("");
  const [opened, setOpened] = useState("");
  const open = async (d: Schemas["v1Document"]) => {
    setError(null);
    setOpened("");
    setBusy(d.id!);
    try {
      await download(d);
      setOpened(`${d.title}: download iniciado.`);
    } catch (e) {
      setError({ title: d.title ?? "", error: e });
      // What the patient revoked or what ended leaves the list.
      void qc.invalidateQueries({ queryKey: ["shared-with-me"] });
    } finally {
      setBusy("");
    }
  };
  const docs = list.data?.documents ?? [];
  return (
    <Page title="Compartilhados comigo" wide>
      <p className="lead">Documentos que seus pacientes compartilharam com você. Cada um fica disponível até a data escolhida pelo paciente, que pode revogar antes.</p>
      <ErrorBanner error={list.error} />
      {error && (
        <div className="banner error" role="alert">
          {error.title}: {error.error instanceof Error ? error.error.message : String(error.error)}
        </div>
      )}
      <OkBanner>{opened}</OkBanner>
      {list.isSuccess && docs.length === 0 && <p className="card muted">Nenhum documento compartilhado com você no momento.</p>}
      {docs.length > 0 && (
      <ul className="docs card">
        {docs.map(({ document: d, expireTime }) => (
          <li key={d!.id} className="doc">
            <div className="doc-main">
              <span className="doc-icon" aria-hidden="true">
                {d!.contentType === "application/pdf" ? "PDF" : "IMG"}
              </span>
              <div>
                <p className="doc-title">{d!.title}</p>
                <p className="muted">
                  {kinds[d!.kind ?? ""] ?? d!.kind}
                  {d!.examDate ? ` · exame de ${examDay(d!.examDate)}` : ""} · {formatSize(d!.sizeBytes)}
                </p>
                <p className="until">Disponível até {when.format(new Date(expireTime!))}</p>
              </div>
            </div>
            <Button variant="secondary" busy={busy === d!.id} onClick={() => void open(d!)} aria-label={`Baixar ${d!.title}`}>
              Baixar
            </Button>
          </li>
        ))}
      </ul>
      )}
      <p>
        <Button variant="secondary" onClick={() => void list.refetch()} busy={list.isFetching}>
          Atualizar lista
        </Button>
      </p>
    </Page>
  );
}

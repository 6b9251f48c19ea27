import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useRef, useState, type DragEvent, type FormEvent } from "react";
import { api, must, type Schemas } from "../api/client";
import { Button, ErrorBanner, OkBanner, Field, Page, Select } from "../components";
import { messageFor } from "../errors";
import { acceptList, actions, checkFile, examDay, formatSize, isoDay, kinds, maxShareDays, shareEnd, shareStates, titleOf } from "../records";
import { download, upload, useDoctorNames, type RecordDocument } from "../recordsApi";
import "../record.css";

type Group = Schemas["v1Group"];

const day = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short" });
const when = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short", timeStyle: "short" });
const whenExact = new Intl.DateTimeFormat("pt-BR", { dateStyle: "short", timeStyle: "medium" });

const recordKey = ["records"] as const;

/** The patient's record: documents and groups, upload, shares and the access log. */
export function MyRecord() {
  const docs = useQuery({
    queryKey: [...recordKey, "documents"],
    queryFn: () => must(api.GET("/v1/records/documents", { params: { query: { pageSize: 100 } } })),
  });
  const groups = useQuery({ queryKey: [...recordKey, "groups"], queryFn: () => must(api.GET("/v1/records/groups")) });
  const documents = docs.data?.documents ?? [];
  const groupList = groups.data?.groups ?? [];
  return (
    <Page title="Meu prontuário" wide>
      <p className="lead">
        Seus exames, laudos e receitas num só lugar, guardados com criptografia. Você decide qual médico vê o quê e até quando — e vê cada acesso.
      </p>
      <ErrorBanner error={docs.error ?? groups.error} />
      <div className="split">
        <UploadCard groups={groupList} />
        <GroupsCard groups={groupList} documents={documents} />
      </div>
      <DocumentsCard documents={documents} groups={groupList} loaded={docs.isSuccess} />
      <div className="split">
        <ShareCard documents={documents} groups={groupList} />
        <SharesCard documents={documents} groups={groupList} />
      </div>
      <AccessLogCard documents={documents} groups={groupList} />
    </Page>
  );
}

/** GroupOptions are a group picker's choices: none, or one of the patient's groups. */
function GroupOptions({ groups }: { groups: Group[] }) {
  return (
    <>
      <option value="">Sem grupo</option>
      {groups.map((g) => (
        <option key={g.id} value={g.id}>
          {g.name}
        </option>
      ))}
    </>
  );
}

function UploadCard({ groups }: { groups: Group[] }) {
  const qc = useQueryClient();
  const inputId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [problem, setProblem] = useState("");
  const [title, setTitle] = useState("");
  const [kind, setKind] = useState("");
  const [examDate, setExamDate] = useState("");
  const [groupId, setGroupId] = useState("");
  const [progress, setProgress] = useState<number | null>(null);
  const [over, setOver] = useState(false);
  const [sent, setSent] = useState("");
  const send = useMutation({
    mutationFn: () => upload({ file: file!, title, kind, examDate, groupId }, setProgress),
    onSuccess: (d) => {
      setSent(`Documento enviado: ${d.title}.`);
      setFile(null);
      setTitle("");
      setKind("");
      setExamDate("");
      setProgress(null);
      if (input.current) input.current.value = "";
      void qc.invalidateQueries({ queryKey: recordKey });
    },
    onError: () => setProgress(null),
  });
  const choose = (f: File | undefined) => {
    setSent("");
    send.reset();
    if (!f) return;
    const bad = checkFile(f);
    setProblem(bad);
    if (bad) {
      setFile(null);
      if (input.current) input.current.value = "";
      return;
    }
    setFile(f);
    if (!title) setTitle(titleOf(f.name));
  };
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    choose(e.dataTransfer.files[0]);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setProgress(0);
    send.mutate();
  };
  return (
    <section className="card" aria-labelledby="upload-title">
      <h2 id="upload-title">Enviar documento</h2>
      <form className="form" onSubmit={submit}>
        <div
          className={over ? "drop over" : "drop"}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={drop}
          data-testid="dropzone"
        >
          <p>
            <strong>Arraste o arquivo para cá</strong> ou
          </p>
          <input ref={input} id={inputId} type="file" className="visually-hidden" accept={acceptList} onChange={(e) => choose(e.target.files?.[0])} />
          <label htmlFor={inputId} className="btn secondary">
            Escolher arquivo
          </label>
          <p className="hint">PDF, JPEG, PNG, WebP ou DICOM, até {formatSize(50 * 1024 * 1024)}.</p>
          {file && (
            <p className="chosen-file">
              {file.name} · {formatSize(file.size)}
            </p>
          )}
        </div>
        {problem && (
          <div className="banner error" role="alert">
            {problem}
          </div>
        )}
        {file && (
          <>
            <Field label="Título" value={title} onChange={(e) => setTitle(e.target.value)} required maxLength={200} />
            <div className="pair">
              <Select label="Tipo" value={kind} onChange={(e) => setKind(e.target.value)} required>
                <option value="">Escolha…</option>
                {Object.entries(kinds).map(([k, label]) => (
                  <option key={k} value={k}>
                    {label}
                  </option>
                ))}
              </Select>
              <Field label="Data do exame (opcional)" type="date" value={examDate} max={isoDay(new Date())} onChange={(e) => setExamDate(e.target.value)} />
            </div>
            <Select label="Grupo" value={groupId} onChange={(e) => setGroupId(e.target.value)}>
              <GroupOptions groups={groups} />
            </Select>
            {progress !== null && (
              <div className="progress">
                <label htmlFor={`${inputId}-progress`}>Enviando…</label>
                <progress id={`${inputId}-progress`} max={100} value={Math.round(progress * 100)}>
                  {Math.round(progress * 100)} %
                </progress>
                <span aria-hidden="true">{Math.round(progress * 100)} %</span>
              </div>
            )}
            <ErrorBanner error={send.error} />
            <Button type="submit" busy={send.isPending} disabled={!title.trim() || !kind}>
              Enviar documento
            </Button>
          </>
        )}
        <OkBanner>{sent}</OkBanner>
      </form>
    </section>
  );
}

function GroupsCard({ groups, documents }: { groups: Group[]; documents: RecordDocument[] }) {
  const qc = useQueryClient();
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: () => must(api.POST("/v1/records/groups", { body: { name: name.trim() } })),
    onSuccess: () => {
      setName("");
      void qc.invalidateQueries({ queryKey: [...recordKey, "groups"] });
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate();
  };
  return (
    <section className="card" aria-labelledby="groups-title">
      <h2 id="groups-title">Grupos</h2>
      <p className="muted">Organize os documentos em grupos (por exemplo, por especialidade) e compartilhe um grupo inteiro de uma vez.</p>
      {groups.length > 0 ? (
        <ul className="chips">
          {groups.map((g) => (
            <li key={g.id}>
              {g.name} <span className="count">{documents.filter((d) => d.groupId === g.id).length}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">Nenhum grupo ainda.</p>
      )}
      <form className="inline-form" onSubmit={submit}>
        <Field label="Nome do novo grupo" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} />
        <Button type="submit" variant="secondary" busy={create.isPending} disabled={!name.trim()}>
          Criar grupo
        </Button>
      </form>
      <ErrorBanner error={create.error} />
    </section>
  );
}

function DocumentsCard({ documents, groups, loaded }: { documents: RecordDocument[]; groups: Group[]; loaded: boolean }) {
  const qc = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const move = useMutation({
    mutationFn: ({ id, groupId }: { id: string; groupId: string }) =>
      must(api.PATCH("/v1/records/documents/{documentId}", { params: { path: { documentId: id } }, body: { groupId, updateMask: "groupId" } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: [...recordKey, "documents"] }),
  });
  const open = (d: RecordDocument) => {
    setError(null);
    download(d).catch(setError);
  };
  return (
    <section className="card" aria-labelledby="docs-title">
      <h2 id="docs-title">Documentos</h2>
      <ErrorBanner error={move.error ?? error} />
      {loaded && documents.length === 0 && <p className="muted">Nenhum documento ainda. Envie o primeiro acima.</p>}
      <ul className="docs">
        {documents.map((d) => (
          <li key={d.id} className="doc">
            <div className="doc-main">
              <span className="doc-icon" aria-hidden="true">
                {d.contentType === "application/pdf" ? "PDF" : "IMG"}
              </span>
              <div>
                <p className="doc-title">{d.title}</p>
                <p className="muted">
                  {kinds[d.kind ?? ""] ?? d.kind}
                  {d.examDate ? ` · exame de ${examDay(d.examDate)}` : ""} · {formatSize(d.sizeBytes)} · enviado em {day.format(new Date(d.createTime!))}
                </p>
              </div>
            </div>
            <div className="doc-actions">
              <select
                aria-label={`Grupo de ${d.title}`}
                value={d.groupId ?? ""}
                onChange={(e) => move.mutate({ id: d.id!, groupId: e.target.value })}
              >
                <GroupOptions groups={groups} />
              </select>
              <Button variant="secondary" onClick={() => open(d)} aria-label={`Baixar ${d.title}`}>
                Baixar
              </Button>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** useMyDoctors is the doctors of the patient's appointments, the first to share with. */
function useMyDoctors(): string[] {
  const appts = useQuery({ queryKey: ["appointments"], queryFn: () => must(api.GET("/v1/appointments", { params: { query: { pageSize: 50 } } })) });
  return [...new Set((appts.data?.appointments ?? []).map((a) => a.doctorId ?? "").filter(Boolean))];
}

function ShareCard({ documents, groups }: { documents: RecordDocument[]; groups: Group[] }) {
  const qc = useQueryClient();
  const mine = useMyDoctors();
  const [query, setQuery] = useState("");
  const [found, setFound] = useState<Schemas["v1Profile"][]>([]);
  const [searched, setSearched] = useState(false);
  const [doctorId, setDoctorId] = useState("");
  const [docIds, setDocIds] = useState<string[]>([]);
  const [groupIds, setGroupIds] = useState<string[]>([]);
  const today = new Date();
  const [until, setUntil] = useState(isoDay(new Date(today.getTime() + 30 * 86400_000)));
  const [done, setDone] = useState("");
  const names = useDoctorNames(mine);
  // The doctor of the latest appointment is the first choice.
  const first = mine[0] ?? "";
  useEffect(() => {
    if (first) setDoctorId((d) => d || first);
  }, [first]);
  const search = useMutation({
    mutationFn: () => must(api.GET("/v1/doctors", { params: { query: { name: query.trim(), pageSize: 10 } } })),
    onSuccess: (r) => {
      const list = (r.results ?? []).map((x) => x.profile!).filter((p) => p?.doctorId);
      setFound(list);
      setSearched(true);
      if (list.length > 0 && !mine.includes(doctorId)) setDoctorId(list[0].doctorId!);
    },
  });
  const share = useMutation({
    mutationFn: () =>
      must(
        api.POST("/v1/records/shares", {
          body: { doctorId, documentIds: docIds, groupIds, expireTime: shareEnd(until).toISOString() },
        }),
      ),
    onSuccess: () => {
      const who = names[doctorId]?.displayName ?? found.find((p) => p.doctorId === doctorId)?.displayName ?? "o médico";
      setDone(`Compartilhado com ${who} até ${day.format(shareEnd(until))}.`);
      setDocIds([]);
      setGroupIds([]);
      void qc.invalidateQueries({ queryKey: recordKey });
    },
  });
  const toggle = (list: string[], set: (v: string[]) => void, id: string) => set(list.includes(id) ? list.filter((x) => x !== id) : [...list, id]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setDone("");
    share.mutate();
  };
  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    search.mutate();
  };
  const others = found.filter((p) => !mine.includes(p.doctorId!));
  const maxDay = isoDay(new Date(today.getTime() + (maxShareDays - 1) * 86400_000));
  return (
    <section className="card" aria-labelledby="share-title">
      <h2 id="share-title">Compartilhar com um médico</h2>
      <form className="inline-form" onSubmit={onSearch} role="search" aria-label="Buscar médico">
        <Field label="Buscar médico pelo nome" value={query} onChange={(e) => setQuery(e.target.value)} maxLength={100} />
        <Button type="submit" variant="secondary" busy={search.isPending} disabled={query.trim().length < 2}>
          Buscar
        </Button>
      </form>
      <ErrorBanner error={search.error} />
      {searched && found.length === 0 && <p className="muted">Nenhum médico encontrado com esse nome.</p>}
      <form className="form" onSubmit={submit}>
        <Select label="Médico" value={doctorId} onChange={(e) => setDoctorId(e.target.value)} required>
          <option value="">Escolha o médico…</option>
          {mine.length > 0 && (
            <optgroup label="Das suas consultas">
              {mine.map((id) => (
                <option key={id} value={id}>
                  {names[id]?.displayName ?? "Médico"}
                  {names[id] ? ` · CRM ${names[id].crmNumber}/${names[id].crmUf}` : ""}
                </option>
              ))}
            </optgroup>
          )}
          {others.length > 0 && (
            <optgroup label="Resultado da busca">
              {others.map((p) => (
                <option key={p.doctorId} value={p.doctorId}>
                  {p.displayName} · CRM {p.crmNumber}/{p.crmUf}
                </option>
              ))}
            </optgroup>
          )}
        </Select>
        <fieldset className="choices">
          <legend>O que compartilhar</legend>
          {groups.length === 0 && documents.length === 0 && <p className="muted">Envie um documento primeiro.</p>}
          {groups.map((g) => (
            <label key={g.id} className="check">
              <input type="checkbox" checked={groupIds.includes(g.id!)} onChange={() => toggle(groupIds, setGroupIds, g.id!)} />
              <span>
                Grupo {g.name} <span className="muted">(o que estiver nele)</span>
              </span>
            </label>
          ))}
          {documents.map((d) => (
            <label key={d.id} className="check">
              <input type="checkbox" checked={docIds.includes(d.id!)} onChange={() => toggle(docIds, setDocIds, d.id!)} />
              {d.title}
            </label>
          ))}
        </fieldset>
        <Field
          label="Até"
          type="date"
          value={until}
          min={isoDay(today)}
          max={maxDay}
          required
          onChange={(e) => setUntil(e.target.value)}
          hint={`O acesso termina às 23:59 desse dia; no máximo ${maxShareDays} dias. Você pode revogar antes.`}
        />
        <ErrorBanner error={share.error} />
        <Button type="submit" busy={share.isPending} disabled={!doctorId || !until || docIds.length + groupIds.length === 0}>
          Compartilhar
        </Button>
        <OkBanner>{done}</OkBanner>
      </form>
    </section>
  );
}

function SharesCard({ documents, groups }: { documents: RecordDocument[]; groups: Group[] }) {
  const qc = useQueryClient();
  const shares = useQuery({ queryKey: [...recordKey, "shares"], queryFn: () => must(api.GET("/v1/records/shares")) });
  const list = shares.data?.shares ?? [];
  const names = useDoctorNames(list.map((s) => s.doctorId ?? ""));
  const revoke = useMutation({
    mutationFn: (id: string) => must(api.POST("/v1/records/shares/{shareId}:revoke", { params: { path: { shareId: id } }, body: {} })),
    onSuccess: () => qc.invalidateQueries({ queryKey: recordKey }),
  });
  const title = new Map(documents.map((d) => [d.id, d.title]));
  const group = new Map(groups.map((g) => [g.id, g.name]));
  const live = list.filter((s) => s.status === "SHARE_STATUS_LIVE");
  const ended = list.filter((s) => s.status !== "SHARE_STATUS_LIVE").slice(0, 5);
  const item = (s: Schemas["v1Share"]) => {
    const doctor = names[s.doctorId ?? ""];
    const what = [...(s.groupIds ?? []).map((g) => `grupo ${group.get(g) ?? "excluído"}`), ...(s.documentIds ?? []).map((d) => title.get(d) ?? "documento excluído")];
    return (
      <li key={s.id} className="share" aria-label={`Compartilhamento com ${doctor?.displayName ?? "médico"}`}>
        <div>
          <p className="doc-title">
            {doctor?.displayName ?? "Médico"} <span className={`state ${s.status}`}>{shareStates[s.status ?? ""] ?? s.status}</span>
          </p>
          <p className="muted">{what.join(", ")}</p>
          <p className="muted">
            {s.status === "SHARE_STATUS_REVOKED" && s.revokeTime ? `Revogado em ${when.format(new Date(s.revokeTime))}` : `Até ${when.format(new Date(s.expireTime!))}`}
          </p>
        </div>
        {s.status === "SHARE_STATUS_LIVE" && (
          <Button variant="secondary" busy={revoke.isPending && revoke.variables === s.id} onClick={() => revoke.mutate(s.id!)}>
            Revogar
          </Button>
        )}
      </li>
    );
  };
  return (
    <section className="card" aria-labelledby="shares-title">
      <h2 id="shares-title">Compartilhamentos ativos</h2>
      <ErrorBanner error={shares.error ?? revoke.error} />
      {shares.isSuccess && live.length === 0 && <p className="muted">Nenhum médico tem acesso ao seu prontuário agora.</p>}
      <ul className="shares">{live.map(item)}</ul>
      {ended.length > 0 && (
        <>
          <h3>Encerrados</h3>
          <ul className="shares">{ended.map(item)}</ul>
        </>
      )}
    </section>
  );
}

function AccessLogCard({ documents, groups }: { documents: RecordDocument[]; groups: Group[] }) {
  const [mine, setMine] = useState(false);
  const [pages, setPages] = useState<string[]>([""]);
  const log = useQuery({
    queryKey: [...recordKey, "access-log", pages],
    queryFn: async () => {
      const out: Schemas["v1AccessLogEntry"][] = [];
      let next = "";
      for (const token of pages) {
        const r = await must(api.GET("/v1/records/access-log", { params: { query: { pageSize: 100, pageToken: token || undefined } } }));
        out.push(...(r.entries ?? []));
        next = r.nextPageToken ?? "";
      }
      return { entries: out, next };
    },
  });
  const entries = (log.data?.entries ?? []).filter((e) => mine || e.actorRole !== "patient");
  const names = useDoctorNames(entries.filter((e) => e.actorRole === "doctor").map((e) => e.actorId ?? ""));
  const title = useMemo(() => new Map(documents.map((d) => [d.id, d.title])), [documents]);
  const group = useMemo(() => new Map(groups.map((g) => [g.id, g.name])), [groups]);
  const who = (e: Schemas["v1AccessLogEntry"]) => {
    if (e.actorRole === "patient") return "Você";
    const name = names[e.actorId ?? ""]?.displayName ?? "Médico";
    return e.actorCrm ? `${name} · CRM ${e.actorCrm}` : name;
  };
  const what = (e: Schemas["v1AccessLogEntry"]) =>
    e.documentId ? (title.get(e.documentId) ?? "documento excluído") : e.groupId ? `grupo ${group.get(e.groupId) ?? ""}` : "—";
  const outcome = (e: Schemas["v1AccessLogEntry"]) => {
    if (e.outcome === "ok") return "Permitido";
    if (e.outcome === "denied") return `Negado: ${messageFor(e.reason ?? "")}`;
    if (e.outcome === "invalid") return `Recusado: ${messageFor(e.reason ?? "")}`;
    return "Falhou";
  };
  return (
    <section className="card" aria-labelledby="log-title">
      <h2 id="log-title">Quem viu o quê, quando</h2>
      <div className="row">
        <p className="muted">Cada leitura do seu prontuário fica registrada, inclusive as negadas.</p>
        <label className="check">
          <input type="checkbox" checked={mine} onChange={(e) => setMine(e.target.checked)} />
          Mostrar também as minhas ações
        </label>
      </div>
      <ErrorBanner error={log.error} />
      {log.isSuccess && entries.length === 0 && <p className="muted">Nenhum acesso de médicos ao seu prontuário até agora.</p>}
      {entries.length > 0 && (
        <table className="log">
          <caption className="visually-hidden">Registro de acessos ao prontuário, do mais recente ao mais antigo</caption>
          <thead>
            <tr>
              <th scope="col">Quando</th>
              <th scope="col">Quem</th>
              <th scope="col">Ação</th>
              <th scope="col">Documento</th>
              <th scope="col">Resultado</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.id} className={e.outcome === "ok" ? "" : "denied"}>
                <td data-label="Quando">
                  <time dateTime={e.time}>{whenExact.format(new Date(e.time!))}</time>
                </td>
                <td data-label="Quem">{who(e)}</td>
                <td data-label="Ação">{actions[e.action ?? ""] ?? e.action}</td>
                <td data-label="Documento">{what(e)}</td>
                <td data-label="Resultado">{outcome(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="actions">
        <Button variant="secondary" onClick={() => void log.refetch()} busy={log.isFetching}>
          Atualizar
        </Button>
        {log.data?.next && (
          <Button variant="secondary" onClick={() => setPages([...pages, log.data!.next])}>
            Mostrar mais
          </Button>
        )}
      </div>
    </section>
  );
}

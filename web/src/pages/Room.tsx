// The consultation room, for the patient and the doctor: the edge's join route answers
// how to enter it from when it opens (10 minutes before the start, by default) until the
// end. Before that the page says when it opens and asks again by itself. The
// development provider (Jitsi Meet) is shown inside the page, with a link to open it in
// a tab of its own; with Amazon Chime the page shows the meeting it was given (the
// Chime SDK is not part of the app yet).
import { useQuery } from "@tanstack/react-query";
import { api, must, type Schemas } from "../api/client";
import { ErrorBanner, Page } from "../components";
import { ApiError } from "../errors";
import { Link } from "../router";
import { useSession } from "../session";

const when = new Intl.DateTimeFormat("pt-BR", { dateStyle: "full", timeStyle: "short" });
const clock = new Intl.DateTimeFormat("pt-BR", { timeStyle: "short" });

function Window({ j }: { j: Schemas["v1GetJoinInfoResponse"] }) {
  return (
    <p id="window">
      Consulta às <time dateTime={j.startTime}>{clock.format(new Date(j.startTime!))}</time>; a sala fecha às{" "}
      <time dateTime={j.windowEndTime}>{clock.format(new Date(j.windowEndTime!))}</time> e todos saem da chamada.
    </p>
  );
}

function Chime({ j }: { j: Schemas["v1GetJoinInfoResponse"] }) {
  let meeting = "";
  try {
    meeting = (JSON.parse(j.meetingJson ?? "{}") as { MeetingId?: string }).MeetingId ?? "";
  } catch {
    meeting = "";
  }
  return (
    <section className="card" aria-labelledby="video-title">
      <h2 id="video-title">Vídeo (Amazon Chime)</h2>
      <Window j={j} />
      <p>
        Sua reunião está pronta{meeting && <> (reunião {meeting})</>}, mas o vídeo do Amazon Chime ainda não abre neste navegador: use o aplicativo
        Healthcore para entrar.
      </p>
    </section>
  );
}

function Jitsi({ j }: { j: Schemas["v1GetJoinInfoResponse"] }) {
  return (
    <section className="card room" aria-labelledby="video-title">
      <h2 id="video-title">Vídeo</h2>
      <Window j={j} />
      <iframe className="video" src={j.joinUrl} title="Sala de vídeo da consulta" allow="camera; microphone; fullscreen; display-capture" />
      <p>
        <a href={j.joinUrl} target="_blank" rel="noopener noreferrer">
          Abrir a sala em outra aba
        </a>{" "}
        <span className="muted">(o endereço da sala é secreto: não o compartilhe)</span>
      </p>
    </section>
  );
}

export function Room({ id }: { id: string }) {
  const { account } = useSession();
  const join = useQuery({
    queryKey: ["join", id],
    queryFn: () => must(api.GET("/v1/appointments/{appointmentId}/join", { params: { path: { appointmentId: id } } })),
    retry: false,
    // Before the room opens, ask again every 15 s: the page opens it by itself.
    refetchInterval: (q) => (q.state.error instanceof ApiError && q.state.error.reason === "TOO_EARLY" ? 15_000 : false),
  });
  const err = join.error instanceof ApiError ? join.error : null;
  const opens = err?.reason === "TOO_EARLY" ? err.metadata.window_start_time : undefined;
  const back = account?.role === "ROLE_DOCTOR" ? "/app/agenda" : `/app/appointments/${id}`;
  return (
    <Page title="Sala de consulta" wide={join.data?.provider === "local"}>
      {opens ? (
        <section className="card" aria-labelledby="closed-title">
          <h2 id="closed-title">A sala ainda não abriu</h2>
          <p id="opens" role="status">
            Ela abre em <time dateTime={opens}>{when.format(new Date(opens))}</time>. Deixe esta página aberta: ela entra sozinha quando a sala abrir.
          </p>
        </section>
      ) : (
        <ErrorBanner error={join.error} />
      )}
      {join.data?.provider === "local" && <Jitsi j={join.data} />}
      {join.data?.provider === "chime" && <Chime j={join.data} />}
      <p>
        <Link href={back}>{account?.role === "ROLE_DOCTOR" ? "Voltar à agenda" : "Voltar à consulta"}</Link>
      </p>
    </Page>
  );
}

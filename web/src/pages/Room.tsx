// The consultation room, for the patient and the doctor: the edge's join route answers
// how to enter it from when it opens (10 minutes before the start, by default) until the
// end. Before that the page says when it opens and asks again by itself. The
// development provider (Jitsi Meet) is shown inside the page, with a link to open it in
// a tab of its own; with Amazon Chime the page joins the meeting it was given with
// amazon-chime-sdk-js, in the page.
import { useQuery } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { api, must, type Schemas } from "../api/client";
import type { Call, CallError, CallState } from "../chime";
import { Button, ErrorBanner, Page } from "../components";
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

const callStates: Record<CallState, string> = {
  asking: "Pedindo acesso à câmera e ao microfone…",
  connecting: "Conectando à sala…",
  reconnecting: "A conexão caiu; reconectando…",
  connected: "Conectado",
  left: "Você saiu da sala.",
  failed: "Você não está na sala.",
};

const callErrors: Record<CallError, string> = {
  permission:
    "O navegador não deu acesso à câmera e ao microfone. Permita o acesso nas configurações do site (o ícone ao lado do endereço) e tente de novo.",
  "no-device": "Nenhum microfone foi encontrado neste aparelho. Conecte um microfone (e, se quiser, uma câmera) e tente de novo.",
  connection: "Não foi possível conectar à sala de vídeo. Verifique sua internet e tente de novo.",
  ended: "A reunião foi encerrada.",
};

// Chime joins the meeting with amazon-chime-sdk-js, loaded only here (../chime is a
// chunk of its own): the camera and microphone asked first, the local and remote video
// and the remote audio bound to the page's elements, then mute, camera and leave.
function Chime({ j }: { j: Schemas["v1GetJoinInfoResponse"] }) {
  const local = useRef<HTMLVideoElement>(null);
  const remote = useRef<HTMLVideoElement>(null);
  const audio = useRef<HTMLAudioElement>(null);
  const call = useRef<Call | undefined>(undefined);
  const [state, setState] = useState<CallState>("asking");
  const [error, setError] = useState<CallError>();
  const [other, setOther] = useState(false);
  const [muted, setMuted] = useState(false);
  const [camera, setCamera] = useState(true);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let gone = false;
    setError(undefined);
    import("../chime")
      .then((m) =>
        m.join(j.meetingJson ?? "", j.attendeeJson ?? "", {
          local: local.current!,
          remote: remote.current!,
          audio: audio.current!,
          onState: (s, err) => {
            if (gone) return;
            setState(s);
            setError(err);
          },
          onRemote: (present) => !gone && setOther(present),
        }),
      )
      .then((c) => {
        if (gone) c?.leave();
        else call.current = c;
      })
      .catch((e: unknown) => {
        console.warn("the Chime room could not start", e);
        if (gone) return;
        setState("failed");
        setError("connection");
      });
    return () => {
      gone = true;
      call.current?.leave();
      call.current = undefined;
    };
  }, [j.meetingJson, j.attendeeJson, attempt]);
  const live = state === "connecting" || state === "reconnecting" || state === "connected";
  // A switch of the call (microphone, camera): its label says what a press does.
  const toggle = (on: boolean, set: (v: boolean) => void, apply: (v: boolean) => void, ifOn: string, ifOff: string) => (
    <Button
      variant="secondary"
      disabled={!live}
      onClick={() => {
        apply(!on);
        set(!on);
      }}
    >
      {on ? ifOn : ifOff}
    </Button>
  );
  return (
    <section className="card room" aria-labelledby="video-title">
      <h2 id="video-title">Vídeo</h2>
      <Window j={j} />
      <p id="call-state" role="status">
        {callStates[state]}
        {state === "connected" && !other && " Aguardando o outro participante."}
      </p>
      {error && (
        <div className="banner error" role="alert" id="call-error">
          {callErrors[error]}
        </div>
      )}
      <div className="tiles">
        <video ref={remote} className="video" aria-label="Vídeo do outro participante" playsInline />
        <video ref={local} className="video self" aria-label="Sua câmera" muted playsInline />
      </div>
      <audio ref={audio} />
      <div className="row">
        {toggle(muted, setMuted, (m) => call.current?.mute(m), "Ativar microfone", "Silenciar microfone")}
        {toggle(camera, setCamera, (c) => call.current?.camera(c), "Desligar câmera", "Ligar câmera")}
        {live ? (
          <Button
            onClick={() => {
              call.current?.leave();
              call.current = undefined;
              setState("left");
            }}
          >
            Sair da sala
          </Button>
        ) : (
          (state === "left" || state === "failed") && (
            <Button
              onClick={() => {
                setMuted(false);
                setCamera(true);
                setState("asking");
                setAttempt((n) => n + 1);
              }}
            >
              Entrar de novo
            </Button>
          )
        )}
      </div>
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
    <Page title="Sala de consulta" wide={join.data?.provider === "local" || join.data?.provider === "chime"}>
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

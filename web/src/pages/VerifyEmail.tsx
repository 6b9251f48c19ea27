import { useEffect, useRef, useState } from "react";
import { api, must } from "../api/client";
import { ErrorBanner, Page } from "../components";
import { Link } from "../router";
import { useSession } from "../session";

export function VerifyEmail({ token }: { token: string }) {
  const [state, setState] = useState<"busy" | "ok" | "error">("busy");
  const [error, setError] = useState<unknown>(null);
  const { account } = useSession();
  const sent = useRef(false);
  useEffect(() => {
    if (sent.current) return;
    sent.current = true;
    must(api.POST("/v1/accounts/email:verify", { body: { token } }))
      .then(() => setState("ok"))
      .catch((e) => {
        setError(e);
        setState("error");
      });
  }, [token]);
  return (
    <Page title="Confirmação de e-mail">
      <div className="card" aria-live="polite">
        {state === "busy" && <p>Confirmando…</p>}
        {state === "ok" && (
          <>
            <p className="banner ok">E-mail confirmado. Agora você pode agendar consultas.</p>
            <p>{account ? <Link href="/app/doctors">Buscar médicos</Link> : <Link href="/app/login">Entrar</Link>}</p>
          </>
        )}
        {state === "error" && <ErrorBanner error={error} />}
      </div>
    </Page>
  );
}

import { useState, type FormEvent, type ReactNode } from "react";
import { factor, login, loginDoctor, loginMfa, type Factor, type LoginStep } from "../api/client";
import { Button, ErrorBanner, Field, Page } from "../components";
import { FactorField, UfSelect } from "../fields";
import { ApiError } from "../errors";
import { home, Link, navigate } from "../router";
import { useSession } from "../session";


/** useLogin runs a login's first step (the password) and, when the account has a
 * second factor, the second (the authenticator app's code or a recovery code), then
 * opens the page next. */
function useLogin(next: string, wrongPassword: string) {
  const [mfaToken, setMfaToken] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const { reload } = useSession();
  const run = async (step: () => Promise<LoginStep>) => {
    setBusy(true);
    setError(null);
    try {
      const r = await step();
      if (r.mfaToken) {
        setMfaToken(r.mfaToken);
        return;
      }
      await reload();
      navigate(next.startsWith("/app/") ? next : home(r.account?.role), true);
    } catch (err) {
      if (err instanceof ApiError && err.reason === "MFA_TOKEN_INVALID") setMfaToken("");
      setError(err instanceof ApiError && err.reason === "INVALID_CREDENTIALS" ? new Error(wrongPassword) : err);
    } finally {
      setBusy(false);
    }
  };
  return {
    mfaToken,
    error,
    busy,
    password: run,
    code: (f: Factor) => run(async () => ({ account: await loginMfa(mfaToken, f) })),
  };
}

/** The second step: the 6-digit code of the authenticator app, or, for a lost phone,
 * one of the recovery codes shown when the second factor was enabled. */
function CodeStep({ busy, error, onCode }: { busy: boolean; error: unknown; onCode: (f: Factor) => void }) {
  const [kind, setKind] = useState<"code" | "recovery">("code");
  const [code, setCode] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    onCode(factor(kind, code));
  };
  return (
    <form className="card form" onSubmit={submit} noValidate>
      <ErrorBanner error={error} />
      <p>{kind === "code" ? "Abra o aplicativo autenticador e digite o código de 6 dígitos que ele mostra agora." : "Digite um dos códigos de recuperação que você guardou ao ativar a verificação em duas etapas."}</p>
      <FactorField kind={kind} onKind={setKind} value={code} onChange={setCode} autoFocus />
      <Button type="submit" busy={busy}>
        Confirmar
      </Button>
    </form>
  );
}

function LoginPage({ title, flow, children }: { title: string; flow: ReturnType<typeof useLogin>; children: ReactNode }) {
  return <Page title={flow.mfaToken ? "Verificação em duas etapas" : title}>{flow.mfaToken ? <CodeStep busy={flow.busy} error={flow.error} onCode={flow.code} /> : children}</Page>;
}

export function Login({ next }: { next: string }) {
  const [who, setWho] = useState("");
  const [password, setPassword] = useState("");
  const flow = useLogin(next, "E-mail, CPF ou senha incorretos.");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void flow.password(() => login(who, password));
  };
  return (
    <LoginPage title="Entrar" flow={flow}>
      <form className="card form" onSubmit={submit} noValidate>
        <ErrorBanner error={flow.error} />
        <Field label="E-mail ou CPF" autoComplete="username" required value={who} onChange={(e) => setWho(e.target.value)} />
        <Field label="Senha" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <Button type="submit" busy={flow.busy}>
          Entrar
        </Button>
        <p className="muted">
          <Link href="/app/forgot-password">Esqueci minha senha</Link>
        </p>
        <p className="muted">
          Ainda não tem conta? <Link href="/app/signup">Criar conta</Link>
        </p>
        <p className="muted">
          É médico? <Link href="/app/doctor/login">Entrar com o CRM</Link>
        </p>
      </form>
    </LoginPage>
  );
}

/** The doctor's login: CRM number, UF and password, then the second factor (every
 * doctor who answers bookings has one). */
export function DoctorLogin({ next }: { next: string }) {
  const [crm, setCrm] = useState("");
  const [uf, setUf] = useState("SP");
  const [password, setPassword] = useState("");
  const flow = useLogin(next, "CRM, UF ou senha incorretos.");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void flow.password(() => loginDoctor(crm, uf, password));
  };
  return (
    <LoginPage title="Entrar como médico" flow={flow}>
      <form className="card form" onSubmit={submit} noValidate>
        <ErrorBanner error={flow.error} />
        <div className="crm">
          <Field label="CRM" inputMode="numeric" autoComplete="username" required value={crm} onChange={(e) => setCrm(e.target.value.replace(/\D/g, ""))} />
          <UfSelect label="UF do CRM" value={uf} onChange={setUf} />
        </div>
        <Field label="Senha" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <Button type="submit" busy={flow.busy}>
          Entrar
        </Button>
        <p className="muted">
          <Link href="/app/forgot-password">Esqueci minha senha</Link>
        </p>
        <p className="muted">
          Ainda não tem conta? <Link href="/app/doctor/signup">Cadastre-se como médico</Link>
        </p>
        <p className="muted">
          É paciente? <Link href="/app/login">Entrar com e-mail ou CPF</Link>
        </p>
      </form>
    </LoginPage>
  );
}

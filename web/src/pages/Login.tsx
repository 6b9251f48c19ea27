import { useState, type FormEvent } from "react";
import { login } from "../api/client";
import { Button, ErrorBanner, Field, Page } from "../components";
import { Link, navigate } from "../router";
import { useSession } from "../session";

export function Login({ next }: { next: string }) {
  const [who, setWho] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const { reload } = useSession();

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(who, password);
      await reload();
      navigate(next.startsWith("/app/") ? next : "/app/doctors", true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Page title="Entrar">
      <form className="card form" onSubmit={submit} noValidate>
        <ErrorBanner error={error} />
        <Field label="E-mail ou CPF" autoComplete="username" required value={who} onChange={(e) => setWho(e.target.value)} />
        <Field label="Senha" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        <Button type="submit" busy={busy}>
          Entrar
        </Button>
        <p className="muted">
          Ainda não tem conta? <Link href="/app/signup">Criar conta</Link>
        </p>
      </form>
    </Page>
  );
}

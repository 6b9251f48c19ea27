// Password reset: the request (e-mail, CPF, or a doctor's CRM and UF; the answer is the
// same whether or not an account matched) and the page the e-mailed link opens
// (/app/reset-password?token=…), which sets the new password under the sign-up's rules.
// Every session of the account ends; the person logs in again.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import { Button, ErrorBanner, Field, Page } from "../components";
import { ApiError } from "../errors";
import { NewPasswordField, UfSelect } from "../fields";
import { Link } from "../router";

export function ForgotPassword() {
  const [doctor, setDoctor] = useState(false);
  const [who, setWho] = useState("");
  const [crm, setCrm] = useState("");
  const [uf, setUf] = useState("SP");
  const send = useMutation({
    mutationFn: () =>
      must(
        api.POST("/v1/auth/password:forgot", {
          body: doctor ? { crm: { number: crm.replace(/\D/g, ""), uf } } : who.includes("@") ? { email: who.trim() } : { cpf: who.replace(/\D/g, "") },
        }),
      ),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send.mutate();
  };
  if (send.isSuccess)
    return (
      <Page title="Veja seu e-mail">
        <p className="card" role="status">
          Se houver uma conta com esses dados, enviamos um link para criar uma nova senha. Ele vale por 30 minutos e só pode ser usado uma vez.
        </p>
        <p>
          <Link href={doctor ? "/app/doctor/login" : "/app/login"}>Voltar para entrar</Link>
        </p>
      </Page>
    );
  return (
    <Page title="Esqueci minha senha">
      <form className="card form" onSubmit={submit} noValidate>
        <p className="muted">Enviaremos um link para o e-mail da conta.</p>
        <div className="actions" role="group" aria-label="Tipo de conta">
          <Button type="button" variant={doctor ? "secondary" : "primary"} aria-pressed={!doctor} onClick={() => setDoctor(false)}>
            Paciente
          </Button>
          <Button type="button" variant={doctor ? "primary" : "secondary"} aria-pressed={doctor} onClick={() => setDoctor(true)}>
            Médico
          </Button>
        </div>
        {doctor ? (
          <div className="crm">
            <Field label="CRM" inputMode="numeric" value={crm} onChange={(e) => setCrm(e.target.value)} required />
            <UfSelect label="UF do CRM" value={uf} onChange={setUf} />
          </div>
        ) : (
          <Field label="E-mail ou CPF" autoComplete="username" value={who} onChange={(e) => setWho(e.target.value)} required />
        )}
        <ErrorBanner error={send.error} />
        <Button type="submit" busy={send.isPending}>
          Enviar link
        </Button>
      </form>
    </Page>
  );
}

export function ResetPassword({ token }: { token: string }) {
  const [password, setPassword] = useState("");
  const reset = useMutation({ mutationFn: () => must(api.POST("/v1/auth/password:reset", { body: { token, newPassword: password } })) });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    reset.mutate();
  };
  if (reset.isSuccess)
    return (
      <Page title="Senha alterada">
        <p className="banner ok" role="status">
          Sua nova senha está valendo. Por segurança, todas as sessões abertas foram encerradas.
        </p>
        <p>
          <Link href="/app/login">Entrar</Link>
        </p>
      </Page>
    );
  const invalid = reset.error instanceof ApiError && reset.error.reason === "RESET_TOKEN_INVALID";
  return (
    <Page title="Criar nova senha">
      <form className="card form" onSubmit={submit} noValidate>
        <NewPasswordField label="Nova senha" value={password} onChange={setPassword} error={reset.error instanceof ApiError ? reset.error.fields.newPassword : undefined} />
        <ErrorBanner error={reset.error} />
        {invalid && (
          <p>
            <Link href="/app/forgot-password">Pedir um novo link</Link>
          </p>
        )}
        <Button type="submit" busy={reset.isPending}>
          Salvar nova senha
        </Button>
      </form>
    </Page>
  );
}

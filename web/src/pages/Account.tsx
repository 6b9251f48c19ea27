// The account page: who is signed in (name, e-mail, the CPF or the CRM), the second
// factor (its state, enrolment and recovery codes: SecondFactor.tsx), and the password change — which ends every other session of the
// account (the platform has no list of sessions to end one by one), so it is also the
// way to sign out other devices.
import { useMutation, useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import { Button, ErrorBanner, Field, Page } from "../components";
import { ApiError } from "../errors";
import { NewPasswordField } from "../fields";
import { SecondFactor } from "./SecondFactor";

const day = new Intl.DateTimeFormat("pt-BR", { dateStyle: "long" });

export function Account() {
  const me = useQuery({ queryKey: ["me"], queryFn: () => must(api.GET("/v1/me")) });
  const [current, setCurrent] = useState("");
  const [fresh, setFresh] = useState("");
  const change = useMutation({
    mutationFn: () => must(api.POST("/v1/me/password:change", { body: { currentPassword: current, newPassword: fresh } })),
    onSuccess: () => {
      setCurrent("");
      setFresh("");
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  const a = me.data?.account;
  const mfa = me.data?.mfa;
  const wrong = change.error instanceof ApiError && change.error.reason === "INVALID_CREDENTIALS";
  return (
    <Page title="Minha conta">
      <ErrorBanner error={me.error} />
      {a && (
        <section className="card" aria-labelledby="who-title">
          <h2 id="who-title">{a.name}</h2>
          <dl className="facts">
            <dt>E-mail</dt>
            <dd>{a.email}</dd>
            {me.data?.patient?.cpf && (
              <>
                <dt>CPF</dt>
                <dd>{me.data.patient.cpf}</dd>
              </>
            )}
            {a.crm?.number && (
              <>
                <dt>CRM</dt>
                <dd>
                  {a.crm.number}/{a.crm.uf}
                </dd>
              </>
            )}
            <dt>Verificação em duas etapas</dt>
            <dd id="mfa">
              {mfa?.enabled
                ? `Ativa desde ${mfa.enableTime ? day.format(new Date(mfa.enableTime)) : "—"} · ${mfa.recoveryCodesLeft ?? 0} códigos de recuperação restantes`
                : "Desativada"}
            </dd>
          </dl>
        </section>
      )}
      {a && <SecondFactor mfa={mfa} role={a.role} />}
      <section className="card" aria-labelledby="password-title">
        <h2 id="password-title">Trocar a senha</h2>
        <p className="muted">Trocar a senha encerra as sessões abertas em outros aparelhos; esta continua.</p>
        <form className="form" onSubmit={submit} noValidate>
          <Field label="Senha atual" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} error={wrong ? "Senha atual incorreta." : undefined} />
          <NewPasswordField label="Nova senha" value={fresh} onChange={setFresh} error={change.error instanceof ApiError ? change.error.fields.newPassword : undefined} />
          {!wrong && <ErrorBanner error={change.error} />}
          {change.isSuccess && (
            <p className="banner ok" role="status">
              Senha trocada. As outras sessões foram encerradas.
            </p>
          )}
          <div className="actions">
            <Button type="submit" busy={change.isPending} disabled={!current || !fresh}>
              Trocar a senha
            </Button>
          </div>
        </form>
      </section>
    </Page>
  );
}

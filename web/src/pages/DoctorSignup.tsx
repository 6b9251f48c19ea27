// The doctor's sign-up: name, CRM and UF, e-mail and password. The account starts
// unverified: the e-mailed link confirms the address, the team checks the CRM, and the
// profile is listed once both are done and the profile is complete.
import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import { Button, ErrorBanner, Field, Page } from "../components";
import { ApiError } from "../errors";
import { NewPasswordField, UfSelect } from "../fields";
import { Link } from "../router";

export function DoctorSignup() {
  const [f, setF] = useState({ name: "", crm: "", uf: "SP", email: "", password: "" });
  const signup = useMutation({
    mutationFn: () =>
      must(api.POST("/v1/accounts/doctors", { body: { name: f.name.trim(), crm: { number: f.crm, uf: f.uf }, email: f.email.trim(), password: f.password } })),
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    signup.mutate();
  };
  const fields = signup.error instanceof ApiError ? signup.error.fields : {};
  if (signup.isSuccess)
    return (
      <Page title="Confirme seu e-mail">
        <div className="card" role="status">
          <p>Enviamos um link para {f.email}. Abra-o para confirmar o endereço.</p>
          <p>
            Depois, nossa equipe verifica o CRM {f.crm}/{f.uf}. Seu perfil aparece na busca quando o CRM estiver verificado e o perfil completo (especialidade, preço e
            local). Para responder a pedidos de consulta, você precisará de um aplicativo autenticador.
          </p>
        </div>
        <p>
          <Link href="/app/doctor/login">Entrar como médico</Link>
        </p>
      </Page>
    );
  return (
    <Page title="Cadastro de médico">
      <form className="card form" onSubmit={submit} noValidate>
        <Field label="Nome completo" autoComplete="name" required value={f.name} onChange={(e) => setF({ ...f, name: e.target.value })} error={fields.name} />
        <div className="crm">
          <Field label="CRM" inputMode="numeric" required value={f.crm} onChange={(e) => setF({ ...f, crm: e.target.value.replace(/\D/g, "").slice(0, 8) })} error={fields["crm.number"]} />
          <UfSelect label="UF do CRM" value={f.uf} onChange={(uf) => setF({ ...f, uf })} />
        </div>
        <Field label="E-mail" type="email" autoComplete="email" required value={f.email} onChange={(e) => setF({ ...f, email: e.target.value })} error={fields.email} />
        <NewPasswordField label="Senha" value={f.password} onChange={(v) => setF({ ...f, password: v })} error={fields.password} />
        <ErrorBanner error={signup.error} />
        <Button type="submit" busy={signup.isPending}>
          Cadastrar
        </Button>
        <p className="muted">
          Já tem conta? <Link href="/app/doctor/login">Entrar com o CRM</Link>
        </p>
      </form>
    </Page>
  );
}

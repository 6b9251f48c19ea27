import { useState, type FormEvent } from "react";
import { api, must } from "../api/client";
import { Button, ErrorBanner, Field, Page } from "../components";
import { cpfDigits, cpfFeedback, maskCPF, validCPF } from "../cpf";
import { ApiError } from "../errors";
import { NewPasswordField } from "../fields";
import { Link } from "../router";

/** maskPhone shows a Brazilian mobile number as (11) 98765-4321. */
function maskPhone(s: string): string {
  const d = s.replace(/\D/g, "").slice(0, 11);
  if (d.length <= 2) return d;
  if (d.length <= 7) return `(${d.slice(0, 2)}) ${d.slice(2)}`;
  return `(${d.slice(0, 2)}) ${d.slice(2, 7)}-${d.slice(7)}`;
}

export function Signup() {
  const [f, setF] = useState({ name: "", email: "", cpf: "", phone: "", birthDate: "", password: "" });
  const [error, setError] = useState<unknown>(null);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const set = (k: keyof typeof f) => (e: { target: { value: string } }) => setF({ ...f, [k]: e.target.value });

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!validCPF(f.cpf)) {
      setFields({ cpf: "CPF inválido: confira os dígitos." });
      return;
    }
    setBusy(true);
    try {
      await must(
        api.POST("/v1/accounts/patients", {
          body: { ...f, cpf: cpfDigits(f.cpf), phone: "+55" + f.phone.replace(/\D/g, "") },
        }),
      );
      setDone(true);
    } catch (err) {
      setError(err);
      setFields(err instanceof ApiError ? err.fields : {});
    } finally {
      setBusy(false);
    }
  }

  if (done) {
    return (
      <Page title="Confirme seu e-mail">
        <div className="card">
          <p>
            Enviamos um link de confirmação para <strong>{f.email}</strong>. Abra-o para ativar sua conta; você já pode entrar e
            procurar médicos, e poderá agendar assim que confirmar.
          </p>
          <p>
            <Link href="/app/login">Ir para a entrada</Link>
          </p>
        </div>
      </Page>
    );
  }

  return (
    <Page title="Criar conta de paciente">
      <form className="card form" onSubmit={submit} noValidate>
        <ErrorBanner error={error} />
        <Field label="Nome completo" autoComplete="name" required value={f.name} onChange={set("name")} error={fields.name} />
        <Field label="E-mail" type="email" autoComplete="email" required value={f.email} onChange={set("email")} error={fields.email} />
        <Field
          label="CPF"
          inputMode="numeric"
          placeholder="000.000.000-00"
          required
          value={f.cpf}
          onChange={(e) => {
            setF({ ...f, cpf: maskCPF(e.target.value) });
            setFields({ ...fields, cpf: "" });
          }}
          error={fields.cpf || cpfFeedback(f.cpf) || undefined}
          hint={validCPF(f.cpf) ? "CPF válido." : "Só números; a pontuação entra sozinha."}
        />
        <Field
          label="Celular"
          type="tel"
          inputMode="tel"
          autoComplete="tel-national"
          placeholder="(11) 98765-4321"
          required
          value={f.phone}
          onChange={(e) => setF({ ...f, phone: maskPhone(e.target.value) })}
          error={fields.phone}
        />
        <Field label="Data de nascimento" type="date" autoComplete="bday" required value={f.birthDate} onChange={set("birthDate")} error={fields.birthDate} />
        <NewPasswordField label="Senha" value={f.password} onChange={(password) => setF({ ...f, password })} error={fields.password} />
        <Button type="submit" busy={busy}>
          Criar conta
        </Button>
        <p className="muted">
          Já tem conta? <Link href="/app/login">Entrar</Link>
        </p>
      </form>
    </Page>
  );
}

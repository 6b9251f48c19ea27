// The second factor on the account page: enrol an authenticator app (the QR code of
// the otpauth URI the API answers, or its secret typed by hand), confirm it with a
// code, keep the recovery codes shown this once (copy, or download as a .txt file);
// later, new recovery codes, and, for patients, turning it off. Doctors and admins must
// keep it (the API refuses with MFA_MANDATORY), so the page does not offer it to them.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useState, type FormEvent } from "react";
import { encode } from "uqr";
import { api, confirmTotp, factor, must, type Schemas } from "../api/client";
import { Button, ErrorBanner, Field, OkBanner } from "../components";
import { FactorField } from "../fields";

const day = new Intl.DateTimeFormat("pt-BR", { dateStyle: "long" });

/** QrCode draws text as a QR code in an SVG of one path (no inline style, nothing the
 * Content-Security-Policy would have to allow); uqr encodes it. */
export function QrCode({ text, label }: { text: string; label: string }) {
  const { size, data } = useMemo(() => encode(text, { ecc: "M", border: 2 }), [text]);
  let d = "";
  data.forEach((row, y) => row.forEach((dark, x) => dark && (d += `M${x} ${y}h1v1h-1z`)));
  return (
    <svg className="totp-qr" viewBox={`0 0 ${size} ${size}`} role="img" aria-label={label} shapeRendering="crispEdges">
      <rect width={size} height={size} fill="#fff" />
      <path d={d} fill="#000" />
    </svg>
  );
}

/** groupSecret splits a base32 secret in groups of four, as it is easier to type. */
export function groupSecret(secret: string): string {
  return (secret.match(/.{1,4}/g) ?? []).join(" ");
}

/** RecoveryCodes shows the recovery codes the API answers once, to copy or download. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const text = `Healthcore: códigos de recuperação da verificação em duas etapas.\nCada código vale uma só vez, no lugar do código do aplicativo.\n\n${codes.join("\n")}\n`;
  const href = useMemo(() => URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" })), [text]);
  useEffect(() => () => URL.revokeObjectURL(href), [href]);
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = () =>
    navigator.clipboard.writeText(codes.join("\n")).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <section aria-labelledby="codes-title">
      <h3 id="codes-title">Códigos de recuperação</h3>
      <p>
        Guarde estes códigos em lugar seguro: se perder o celular, cada um entra <strong>uma vez</strong> no lugar do código do aplicativo. Eles não serão
        mostrados de novo.
      </p>
      <ol className="recovery-codes" aria-label="Códigos de recuperação">
        {codes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ol>
      {copied === false && <ErrorBanner error="Não foi possível copiar; baixe o arquivo ou anote os códigos." />}
      <OkBanner>{copied ? "Códigos copiados." : null}</OkBanner>
      <div className="actions">
        <Button type="button" variant="secondary" onClick={copy}>
          Copiar os códigos
        </Button>
        <a className="btn secondary" href={href} download="healthcore-codigos-de-recuperacao.txt">
          Baixar (.txt)
        </a>
        <Button type="button" onClick={onDone}>
          Já guardei os códigos
        </Button>
      </div>
    </section>
  );
}

/** Enrol: the secret as a QR code and in groups, then the first code confirms it. */
function Enrol({ enrolment, onCodes }: { enrolment: Schemas["v1EnrollTotpResponse"]; onCodes: (codes: string[]) => void }) {
  const [code, setCode] = useState("");
  const confirm = useMutation({ mutationFn: () => confirmTotp(code), onSuccess: onCodes });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    confirm.mutate();
  };
  return (
    <div className="enrol">
      <ol className="steps">
        <li>
          <p>Abra um aplicativo autenticador (Google Authenticator, Microsoft Authenticator, 1Password…) e leia este QR code.</p>
          <QrCode text={enrolment.otpauthUri ?? ""} label="QR code para o aplicativo autenticador" />
          <p className="muted" id="totp-secret-label">
            Sem câmera? Digite esta chave no aplicativo (tipo: baseada em tempo):
          </p>
          <p>
            <code className="secret" id="totp-secret">
              {groupSecret(enrolment.secret ?? "")}
            </code>
          </p>
        </li>
        <li>
          <form className="form" onSubmit={submit} noValidate>
            <p>Digite o código de 6 dígitos que o aplicativo mostra para confirmar.</p>
            <Field
              label="Código do aplicativo"
              inputMode="numeric"
              autoComplete="one-time-code"
              pattern="[0-9]{6}"
              maxLength={6}
              required
              value={code}
              onChange={(e) => setCode(e.target.value.replace(/\D/g, ""))}
            />
            <ErrorBanner error={confirm.error} />
            <div className="actions">
              <Button type="submit" busy={confirm.isPending} disabled={code.length !== 6}>
                Confirmar e ativar
              </Button>
            </div>
          </form>
        </li>
      </ol>
    </div>
  );
}

/** FactorForm asks for a fresh factor (and, to turn it off, the password) and runs act. */
function FactorForm({
  title,
  withPassword,
  action,
  act,
  onDone,
}: {
  title: string;
  withPassword?: boolean;
  action: string;
  act: (f: ReturnType<typeof factor>, password: string) => Promise<unknown>;
  onDone: (r: unknown) => void;
}) {
  const [kind, setKind] = useState<"code" | "recovery">("code");
  const [value, setValue] = useState("");
  const [password, setPassword] = useState("");
  const run = useMutation({ mutationFn: () => act(factor(kind, value), password), onSuccess: onDone });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    run.mutate();
  };
  return (
    <form className="form mfa-action" onSubmit={submit} noValidate aria-label={title}>
      <h3>{title}</h3>
      {withPassword && <Field label="Senha" type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />}
      <FactorField kind={kind} onKind={setKind} value={value} onChange={setValue} />
      <ErrorBanner error={run.error} />
      <div className="actions">
        <Button type="submit" variant="secondary" busy={run.isPending} disabled={!value || (withPassword && !password)}>
          {action}
        </Button>
      </div>
    </form>
  );
}

export function SecondFactor({ mfa, role }: { mfa: Schemas["v1MfaStatus"] | undefined; role: string | undefined }) {
  const qc = useQueryClient();
  const [codes, setCodes] = useState<string[] | null>(null);
  const [off, setOff] = useState(false);
  const reload = () => void qc.invalidateQueries({ queryKey: ["me"] });
  const enrol = useMutation({ mutationFn: () => must(api.POST("/v1/me/mfa/totp:enroll", { body: {} })), onSuccess: () => setOff(false) });
  const shown = (c: string[]) => {
    setCodes(c);
    enrol.reset();
    reload();
  };
  const mandatory = role === "ROLE_DOCTOR" || role === "ROLE_ADMIN";
  return (
    <section className="card" aria-labelledby="mfa-title">
      <h2 id="mfa-title">Verificação em duas etapas</h2>
      {codes ? (
        <>
          <OkBanner>Verificação em duas etapas ativada.</OkBanner>
          <RecoveryCodes codes={codes} onDone={() => setCodes(null)} />
        </>
      ) : mfa?.enabled ? (
        <>
          <p>
            Ativa desde {mfa.enableTime ? day.format(new Date(mfa.enableTime)) : "—"}: ao entrar, além da senha, o código do aplicativo autenticador.{" "}
            {mfa.recoveryCodesLeft ?? 0} códigos de recuperação restantes.
          </p>
          <FactorForm
            title="Novos códigos de recuperação"
            action="Gerar novos códigos"
            act={(f) => must(api.POST("/v1/me/mfa/recovery-codes:regenerate", { body: f }))}
            onDone={(r) => shown((r as Schemas["v1RegenerateRecoveryCodesResponse"]).recoveryCodes ?? [])}
          />
          {mandatory ? (
            <p className="muted">Para médicos e administradores a verificação em duas etapas é obrigatória: ela não pode ser desativada.</p>
          ) : (
            <FactorForm
              title="Desativar a verificação em duas etapas"
              withPassword
              action="Desativar"
              act={(f, password) => must(api.POST("/v1/me/mfa/totp:disable", { body: { password, ...f } }))}
              onDone={() => (setOff(true), reload())}
            />
          )}
        </>
      ) : enrol.data ? (
        <Enrol enrolment={enrol.data} onCodes={shown} />
      ) : (
        <>
          {off && <OkBanner>Verificação em duas etapas desativada.</OkBanner>}
          <p>
            {mandatory
              ? "Médicos precisam da verificação em duas etapas para responder aos pedidos de consulta e abrir documentos de pacientes."
              : "Proteja sua conta: ao entrar, além da senha, peça o código de um aplicativo autenticador no celular."}
          </p>
          <ErrorBanner error={enrol.error} />
          <div className="actions">
            <Button type="button" busy={enrol.isPending} onClick={() => enrol.mutate()}>
              Ativar com um aplicativo autenticador
            </Button>
          </div>
        </>
      )}
    </section>
  );
}

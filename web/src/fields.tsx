// Fields more than one form uses: the new password with its strength meter, and the
// UF of a CRM or an address.
import type { ReactNode } from "react";
import { Field, Select } from "./components";
import { passwordStrength } from "./password";

/** The 27 federative units. */
export const ufs = "AC AL AM AP BA CE DF ES GO MA MG MS MT PA PB PE PI PR RJ RN RO RR RS SC SE SP TO".split(" ");

export function NewPasswordField({ label, value, onChange, error }: { label: string; value: string; onChange: (v: string) => void; error?: string }) {
  const strength = passwordStrength(value);
  return (
    <Field
      label={label}
      type="password"
      autoComplete="new-password"
      required
      value={value}
      onChange={(e) => onChange(e.target.value)}
      error={error}
      hint={
        <span className="strength">
          <meter min={0} max={4} low={2} high={3} optimum={4} value={strength.score} aria-label="Força da senha" />
          <span>Força: {strength.label}. Use 12 caracteres ou mais, como uma frase.</span>
        </span>
      }
    />
  );
}

export function UfSelect({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }): ReactNode {
  return (
    <Select label={label} value={value} onChange={(e) => onChange(e.target.value)}>
      {ufs.map((u) => (
        <option key={u} value={u}>
          {u}
        </option>
      ))}
    </Select>
  );
}

/** FactorField asks for a second factor: the authenticator app's 6-digit code or, when
 * the phone is lost, one of the recovery codes (xxxxx-xxxxx, each works once), with a
 * button that switches between the two. */
export function FactorField({
  kind,
  onKind,
  value,
  onChange,
  autoFocus,
}: {
  kind: "code" | "recovery";
  onKind: (k: "code" | "recovery") => void;
  value: string;
  onChange: (v: string) => void;
  autoFocus?: boolean;
}) {
  const other = () => {
    onKind(kind === "code" ? "recovery" : "code");
    onChange("");
  };
  return (
    <>
      {kind === "code" ? (
        <Field
          key="code"
          label="Código de verificação"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          maxLength={6}
          required
          autoFocus={autoFocus}
          hint="Os 6 dígitos que o aplicativo autenticador mostra agora."
          value={value}
          onChange={(e) => onChange(e.target.value.replace(/\D/g, ""))}
        />
      ) : (
        <Field
          key="recovery"
          label="Código de recuperação"
          autoComplete="off"
          autoCapitalize="none"
          spellCheck={false}
          maxLength={11}
          required
          autoFocus={autoFocus}
          hint="Um dos códigos guardados ao ativar a verificação (xxxxx-xxxxx); cada um vale uma só vez."
          value={value}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
      <p className="muted">
        <button type="button" className="linklike" onClick={other}>
          {kind === "code" ? "Perdeu o celular? Use um código de recuperação" : "Usar o código do aplicativo"}
        </button>
      </p>
    </>
  );
}

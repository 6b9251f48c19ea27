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

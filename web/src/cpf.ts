// CPF: the mask the field shows while typing, and the check digits, computed as the
// Receita Federal does (the server checks them again).

/** digits keeps the first 11 digits of s. */
export function cpfDigits(s: string): string {
  return s.replace(/\D/g, "").slice(0, 11);
}

/** maskCPF formats what was typed so far as 000.000.000-00. */
export function maskCPF(s: string): string {
  const d = cpfDigits(s);
  let out = d.slice(0, 3);
  if (d.length > 3) out += "." + d.slice(3, 6);
  if (d.length > 6) out += "." + d.slice(6, 9);
  if (d.length > 9) out += "-" + d.slice(9, 11);
  return out;
}

function checkDigit(d: string, weightStart: number): number {
  let sum = 0;
  for (let i = 0; i < d.length; i++) sum += Number(d[i]) * (weightStart - i);
  const r = (sum * 10) % 11;
  return r === 10 ? 0 : r;
}

/** validCPF: 11 digits, not all the same, both check digits right. */
export function validCPF(s: string): boolean {
  const d = cpfDigits(s);
  if (d.length !== 11 || /^(\d)\1{10}$/.test(d)) return false;
  return checkDigit(d.slice(0, 9), 10) === Number(d[9]) && checkDigit(d.slice(0, 10), 11) === Number(d[10]);
}

/** cpfFeedback is what the field says about the CPF typed so far ("" while incomplete). */
export function cpfFeedback(s: string): string {
  const d = cpfDigits(s);
  if (d.length < 11) return "";
  return validCPF(d) ? "" : "CPF inválido: os dígitos verificadores não conferem.";
}

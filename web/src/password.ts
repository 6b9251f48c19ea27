// Password strength as the sign-up form shows it: a hint only, the server decides
// (PASSWORD_TOO_WEAK).

export type Strength = { score: 0 | 1 | 2 | 3 | 4; label: string };

const labels = ["Muito fraca", "Fraca", "Razoável", "Boa", "Forte"] as const;

export function passwordStrength(p: string): Strength {
  let score = 0;
  if (p.length >= 12) score++;
  if (p.length >= 16) score++;
  const kinds = [/[a-z]/, /[A-Z]/, /\d/, /[^A-Za-z0-9]/].filter((r) => r.test(p)).length;
  if (kinds >= 3) score++;
  if (kinds === 4 || p.split(/[\s-]+/).length >= 4) score++;
  if (p.length < 8) score = 0;
  const s = Math.min(score, 4) as Strength["score"];
  return { score: s, label: labels[s] };
}

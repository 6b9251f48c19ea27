import { expect, test } from "@playwright/test";
import { check, mailToken, nextCode, watchCSP } from "./helpers";

// A doctor signs up (the platform allows it: the team verifies the CRM afterwards),
// confirms the e-mail from the link, and enrols the authenticator the doctor's answers
// to bookings need, on the account page; the next login asks for its code.
test("a doctor signs up with CRM and UF, confirms the e-mail and enrols an authenticator", async ({ page, request }) => {
  const csp: string[] = [];
  watchCSP(page, csp);
  const crm = String(Date.now()).slice(-6);
  const email = `medico${crm}@clinica.com.br`;
  await page.goto("/app/doctor/login");
  await page.getByRole("link", { name: "Cadastre-se como médico" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Cadastro de médico");
  await page.getByLabel("Nome completo").fill("Dr. Paulo Lima");
  await page.getByLabel("CRM", { exact: true }).fill(`${crm}x`);
  await expect(page.getByLabel("CRM", { exact: true })).toHaveValue(crm);
  await page.getByLabel("UF do CRM").selectOption("RJ");
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Senha", { exact: true }).fill("Estetoscopio-Azul-2026");
  await check(page, "60-doctor-signup");
  await page.getByRole("button", { name: "Cadastrar" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirme seu e-mail");
  await expect(page.getByRole("status")).toContainText(`CRM ${crm}/RJ`);
  const token = await mailToken(request, email, "/app/verify-email");
  await page.goto(`/app/verify-email?token=${token}`);
  await expect(page.getByText("E-mail confirmado.")).toBeVisible();

  await page.goto("/app/doctor/login?next=/app/account");
  await page.getByLabel("CRM", { exact: true }).fill(crm);
  await page.getByLabel("UF do CRM").selectOption("RJ");
  await page.getByLabel("Senha", { exact: true }).fill("Estetoscopio-Azul-2026");
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page).toHaveURL(/\/app\/account$/);
  const mfa = page.getByRole("region", { name: "Verificação em duas etapas" });
  await expect(mfa).toContainText("Médicos precisam da verificação em duas etapas");
  await mfa.getByRole("button", { name: "Ativar com um aplicativo autenticador" }).click();
  const secret = (await page.locator("#totp-secret").textContent())!.replace(/ /g, "");
  await mfa.getByLabel("Código do aplicativo").fill(await nextCode(page, secret));
  await mfa.getByRole("button", { name: "Confirmar e ativar" }).click();
  await expect(mfa.getByRole("list", { name: "Códigos de recuperação" }).getByRole("listitem")).toHaveCount(10);
  await mfa.getByRole("button", { name: "Já guardei os códigos" }).click();
  // Doctors keep it: new recovery codes are offered, turning it off is not.
  await expect(mfa.getByRole("form", { name: "Novos códigos de recuperação" })).toBeVisible();
  await expect(mfa.getByRole("form", { name: "Desativar a verificação em duas etapas" })).toHaveCount(0);
  await expect(mfa).toContainText("obrigatória");
  await check(page, "61-doctor-mfa-enabled");
  await page.getByRole("button", { name: "Sair" }).click();
  await page.goto("/app/doctor/login?next=/app/account");
  await page.getByLabel("CRM", { exact: true }).fill(crm);
  await page.getByLabel("UF do CRM").selectOption("RJ");
  await page.getByLabel("Senha", { exact: true }).fill("Estetoscopio-Azul-2026");
  await page.getByRole("button", { name: "Entrar" }).click();
  await page.getByLabel("Código de verificação").fill(await nextCode(page, secret));
  await page.getByRole("button", { name: "Confirmar" }).click();
  await expect(page).toHaveURL(/\/app\/account$/);
  await expect(page.locator("#mfa")).toContainText("10 códigos de recuperação restantes");
  expect(csp, "Content-Security-Policy violations").toEqual([]);
});

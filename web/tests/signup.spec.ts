import { expect, test } from "@playwright/test";
import { check, mailToken, watchCSP } from "./helpers";

// A doctor signs up (the platform allows it: the team verifies the CRM afterwards) and
// confirms the e-mail from the link.
test("a doctor signs up with CRM and UF and confirms the e-mail", async ({ page, request }) => {
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
  expect(csp, "Content-Security-Policy violations").toEqual([]);
});

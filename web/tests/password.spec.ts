import { expect, test } from "@playwright/test";
import { check, mailToken, newPatient, watchCSP } from "./helpers";

// A forgotten password: the request from the login page, the e-mailed link, a new
// password under the sign-up's rules; the old one stops working, the link works once;
// then the account page, where changing the password signs out the other devices.
test("a patient resets a forgotten password from the e-mailed link, then changes it on the account page", async ({ page, request, browser, baseURL }) => {
  const csp: string[] = [];
  watchCSP(page, csp);
  const email = await newPatient(page, request, "Lia Esquecida");
  await page.getByRole("button", { name: "Sair" }).click();
  await expect(page).toHaveURL(/\/app\/login$/);

  await page.getByRole("link", { name: "Esqueci minha senha" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Esqueci minha senha");
  await page.getByLabel("E-mail ou CPF").fill(email);
  await check(page, "50-forgot-password");
  await page.getByRole("button", { name: "Enviar link" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Veja seu e-mail");

  const token = await mailToken(request, email, "/app/reset-password");
  await page.goto(`/app/reset-password?token=${token}`);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Criar nova senha");
  const fresh = "Outra-Frase-Bem-Longa-42";
  await page.getByLabel("Nova senha").fill(fresh);
  await expect(page.getByText(/Força: Forte/)).toBeVisible();
  await check(page, "51-reset-password");
  await page.getByRole("button", { name: "Salvar nova senha" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Senha alterada");

  // The link works once.
  await page.goto(`/app/reset-password?token=${token}`);
  await page.getByLabel("Nova senha").fill("Mais-Uma-Frase-Longa-77");
  await page.getByRole("button", { name: "Salvar nova senha" }).click();
  await expect(page.getByRole("alert")).toHaveText("O link de troca de senha é inválido ou expirou. Peça um novo.");
  await expect(page.getByRole("link", { name: "Pedir um novo link" })).toBeVisible();

  // The old password no longer opens the account; the new one does.
  await page.goto("/app/login");
  await page.getByLabel("E-mail ou CPF").fill(email);
  await page.getByLabel("Senha", { exact: true }).fill("Correct-Horse-Battery-9");
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page.getByRole("alert")).toHaveText("E-mail, CPF ou senha incorretos.");
  await page.getByLabel("Senha", { exact: true }).fill(fresh);
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page).toHaveURL(/\/app\/doctors$/);

  // The account page: who is signed in; changing the password ends the other sessions
  // (another browser signed in before the change is sent to the login) and keeps this one.
  const other = await (await browser.newContext({ baseURL, locale: "pt-BR", timezoneId: "America/Sao_Paulo" })).newPage();
  await other.goto("/app/login");
  await other.getByLabel("E-mail ou CPF").fill(email);
  await other.getByLabel("Senha", { exact: true }).fill(fresh);
  await other.getByRole("button", { name: "Entrar" }).click();
  await expect(other).toHaveURL(/\/app\/doctors$/);
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Minha conta" }).click();
  await expect(page.getByRole("heading", { level: 2, name: "Lia Esquecida" })).toBeVisible();
  await expect(page.getByText(email)).toBeVisible();
  await expect(page.locator("#mfa")).toHaveText("Desativada");
  await page.getByLabel("Senha atual").fill("Nao-E-A-Senha-Atual-1");
  await page.getByLabel("Nova senha").fill("Terceira-Frase-Comprida-88");
  await page.getByRole("button", { name: "Trocar a senha" }).click();
  await expect(page.getByText("Senha atual incorreta.")).toBeVisible();
  await check(page, "52-account");
  await page.getByLabel("Senha atual").fill(fresh);
  await page.getByRole("button", { name: "Trocar a senha" }).click();
  await expect(page.getByText("Senha trocada. As outras sessões foram encerradas.")).toBeVisible();
  await other.reload();
  await other.goto("/app/appointments");
  await expect(other).toHaveURL(/\/app\/login\?next=/);
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Minha conta");
  await other.context().close();
  expect(csp, "Content-Security-Policy violations").toEqual([]);
});

import { expect, test, type Page } from "@playwright/test";
import { readFile } from "node:fs/promises";
import { check, newPatient, nextCode, password, watchCSP } from "./helpers";

/** logIn fills the patient's login, then the second step with the app's code or a
 * recovery code (photographed first when shot is given), and confirms. */
async function logIn(page: Page, email: string, f: { code: string } | { recovery: string }, shot?: string) {
  await page.goto("/app/login");
  await page.getByLabel("E-mail ou CPF").fill(email);
  await page.getByLabel("Senha", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Verificação em duas etapas");
  if ("code" in f) {
    await page.getByLabel("Código de verificação").fill(f.code);
  } else {
    await page.getByRole("button", { name: "Perdeu o celular? Use um código de recuperação" }).click();
    await page.getByLabel("Código de recuperação").fill(f.recovery);
  }
  if (shot) await check(page, shot);
  await page.getByRole("button", { name: "Confirmar" }).click();
}

async function logOut(page: Page) {
  await page.getByRole("button", { name: "Sair" }).click();
  await expect(page).toHaveURL(/\/app\/login$/);
}

// The second factor in the app: a patient enrols an authenticator on the account page
// (the QR code and the secret in groups of four, confirmed with a code the test computes
// like an authenticator would), keeps the ten recovery codes (downloaded as .txt), logs in
// with the app's code, then with a recovery code, which a second time is refused, and
// turns the second factor off with the password and another recovery code.
test("a patient enrols an authenticator, logs in with its code and with a recovery code, then turns it off", async ({ page, request }) => {
  test.setTimeout(240_000);
  const csp: string[] = [];
  watchCSP(page, csp);
  const email = await newPatient(page, request, "Rui Duas Etapas");
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Minha conta" }).click();
  await expect(page.locator("#mfa")).toHaveText("Desativada");
  const mfa = page.getByRole("region", { name: "Verificação em duas etapas" });

  const enrolled = page.waitForResponse((r) => r.url().endsWith("/v1/me/mfa/totp:enroll") && r.ok());
  await mfa.getByRole("button", { name: "Ativar com um aplicativo autenticador" }).click();
  const enrolment = (await (await enrolled).json()) as { secret: string; otpauthUri: string };
  expect(enrolment.otpauthUri).toContain(`secret=${enrolment.secret}`);
  const qr = mfa.getByRole("img", { name: "QR code para o aplicativo autenticador" });
  await expect(qr).toBeVisible();
  // A QR code of the otpauth URI (about 100 characters at level M) is version 5 or more:
  // 37 modules and more, plus the border.
  expect(Number((await qr.getAttribute("viewBox"))!.split(" ")[2])).toBeGreaterThanOrEqual(41);
  const grouped = (await page.locator("#totp-secret").textContent())!;
  expect(grouped).toMatch(/^([A-Z2-7]{4} )+[A-Z2-7]{1,4}$/);
  const secret = grouped.replace(/ /g, "");
  expect(secret).toBe(enrolment.secret);
  await check(page, "80-mfa-enrol");

  // A wrong code is refused; the app's current one enables it.
  await mfa.getByLabel("Código do aplicativo").fill("000000");
  await mfa.getByRole("button", { name: "Confirmar e ativar" }).click();
  await expect(mfa.getByRole("alert")).toHaveText("Código de verificação incorreto.");
  await mfa.getByLabel("Código do aplicativo").fill(await nextCode(page, secret));
  await mfa.getByRole("button", { name: "Confirmar e ativar" }).click();
  await expect(mfa.getByRole("status")).toHaveText("Verificação em duas etapas ativada.");
  const codes = await mfa.getByRole("list", { name: "Códigos de recuperação" }).getByRole("listitem").allTextContents();
  expect(codes).toHaveLength(10);
  for (const c of codes) expect(c).toMatch(/^[a-z2-7]{5}-[a-z2-7]{5}$/i);
  expect(new Set(codes).size).toBe(10);
  const download = page.waitForEvent("download");
  await mfa.getByRole("link", { name: "Baixar (.txt)" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("healthcore-codigos-de-recuperacao.txt");
  const text = await readFile((await file.path())!, "utf8");
  for (const c of codes) expect(text).toContain(c);
  await check(page, "81-mfa-recovery-codes");
  await mfa.getByRole("button", { name: "Já guardei os códigos" }).click();
  await expect(page.locator("#mfa")).toContainText("10 códigos de recuperação restantes");
  await expect(mfa.getByRole("list", { name: "Códigos de recuperação" })).toHaveCount(0);

  // The confirmation renewed the session (and its cookie): a reload keeps it.
  await page.reload();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Minha conta");
  await expect(page.locator("#mfa")).toContainText("Ativa desde");
  await check(page, "82-mfa-enabled");
  await logOut(page);

  // The password alone no longer opens the account: the app's code does.
  await logIn(page, email, { code: await nextCode(page, secret) });
  await expect(page).toHaveURL(/\/app\/doctors$/);
  await logOut(page);

  // A recovery code instead of the app's code; it works once.
  await logIn(page, email, { recovery: codes[0] }, "83-login-recovery-code");
  await expect(page).toHaveURL(/\/app\/doctors$/);
  await logOut(page);
  await logIn(page, email, { recovery: codes[0] });
  await expect(page.getByRole("alert")).toHaveText("Código de verificação incorreto.");
  await page.getByLabel("Código de recuperação").fill(codes[1].toUpperCase().replace("-", ""));
  await page.getByRole("button", { name: "Confirmar" }).click();
  await expect(page).toHaveURL(/\/app\/doctors$/);

  // Turned off with the password and a fresh factor (a third recovery code).
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Minha conta" }).click();
  await expect(page.locator("#mfa")).toContainText("8 códigos de recuperação restantes");
  const off = mfa.getByRole("form", { name: "Desativar a verificação em duas etapas" });
  await off.getByLabel("Senha", { exact: true }).fill(password);
  await off.getByRole("button", { name: "Perdeu o celular? Use um código de recuperação" }).click();
  await off.getByLabel("Código de recuperação").fill(codes[2]);
  await off.getByRole("button", { name: "Desativar" }).click();
  await expect(mfa.getByRole("status")).toHaveText("Verificação em duas etapas desativada.");
  await expect(page.locator("#mfa")).toHaveText("Desativada");
  await logOut(page);
  await page.getByLabel("E-mail ou CPF").fill(email);
  await page.getByLabel("Senha", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page).toHaveURL(/\/app\/doctors$/);
  expect(csp, "Content-Security-Policy violations").toEqual([]);
});

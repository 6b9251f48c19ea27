// Shared by the browser journeys: the stack's addresses and doctor, a CPF maker, the
// axe-core check and screenshots every page gets, dev's inbox, the PIX charge's id, and
// the doctor's login with the second factor.
import AxeBuilder from "@axe-core/playwright";
import { expect, type APIRequestContext, type Browser, type Page } from "@playwright/test";
import { totp } from "./totp";

export const sandbox = process.env.HEALTHCORE_PIX_SANDBOX ?? "http://127.0.0.1:7090";
export const password = "Correct-Horse-Battery-9";
// The stack's verified doctor (e2e/web_test.go), and its TOTP secret.
export const doctorCRM = process.env.HEALTHCORE_DOCTOR_CRM ?? "654321";
export const doctorUF = process.env.HEALTHCORE_DOCTOR_UF ?? "SP";
export const doctorPassword = process.env.HEALTHCORE_DOCTOR_PASSWORD ?? "doctor password 1";
export const doctorSecret = process.env.HEALTHCORE_DOCTOR_TOTP_SECRET ?? "";

/** a CPF with valid check digits, from nine digits. */
export function cpf(nine: string): string {
  const d = nine.split("").map(Number);
  const digit = (xs: number[]) => {
    const s = xs.reduce((acc, x, i) => acc + x * (xs.length + 1 - i), 0);
    const r = (s * 10) % 11;
    return r === 10 ? 0 : r;
  };
  d.push(digit(d));
  d.push(digit(d));
  return d.join("");
}

export async function check(page: Page, name: string) {
  const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const bad = axe.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`), `axe on ${name}`).toEqual([]);
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    await page.screenshot({ path: `test-results/screenshots/${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/** mailToken waits for the newest link to page e-mailed to address, in dev's inbox. */
export async function mailToken(request: APIRequestContext, address: string, pagePath: string): Promise<string> {
  const re = new RegExp(pagePath.replace(/[/]/g, "\\/") + "\\?token=([A-Za-z0-9_-]+)");
  for (let i = 0; i < 100; i++) {
    const r = await request.get("/dev/mail/messages.json");
    const msgs = (await r.json()) as Array<{ to: string; text: string }>;
    for (const m of msgs) {
      const t = m.to === address ? re.exec(m.text) : null;
      if (t) return t[1];
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error(`no ${pagePath} link e-mailed to ${address}`);
}

/** chargeOf waits for the booked appointment's payment to carry the provider's id. */
export function chargeOf(page: Page): Promise<string> {
  return page
    .waitForResponse(async (r) => {
      if (!/\/v1\/appointments\/[^/]+\/payment/.test(r.url()) || r.status() !== 200) return false;
      const body = await r.json();
      return Boolean(body.payment?.providerPaymentId);
    })
    .then(async (r) => (await r.json()).payment.providerPaymentId as string);
}

/** watchCSP collects the Content-Security-Policy violations a page reports. */
export function watchCSP(p: Page, into: string[]) {
  p.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) into.push(m.text());
  });
}

/** newPatient registers a patient through the API, confirms the e-mail from dev's inbox
 * and logs in on page by e-mail (the journey does all three through the pages). */
export async function newPatient(page: Page, request: APIRequestContext, name: string): Promise<string> {
  const nine = String(Date.now() + Math.floor(Math.random() * 1000)).slice(-9);
  const email = `paciente${nine}@example.com`;
  const r = await request.post("/v1/accounts/patients", {
    data: { name, email, cpf: cpf(nine), phone: "+5511987654321", birthDate: "1980-02-03", password },
  });
  expect(r.status(), await r.text()).toBe(202);
  const token = await mailToken(request, email, "/app/verify-email");
  expect((await request.post("/v1/accounts/email:verify", { data: { token } })).ok()).toBe(true);
  await logIn(page, email);
  return email;
}

/** logIn logs a patient in on page by e-mail and password, through the login page. */
export async function logIn(page: Page, email: string, pass = password) {
  await page.goto("/app/login");
  await page.getByLabel("E-mail ou CPF").fill(email);
  await page.getByLabel("Senha", { exact: true }).fill(pass);
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page).toHaveURL(/\/app\/doctors$/);
}

const lastStep = new Map<string, number>();

/** nextCode is the TOTP code of the next 30-second step for secret (by default the
 * stack's doctor's), as an authenticator turning over shows it (the current one may be
 * spent); when an earlier use by these tests spent that step, it waits for the
 * following one (a code is accepted once). */
export async function nextCode(page: Page, secret = doctorSecret): Promise<string> {
  expect(secret, "TOTP secret (HEALTHCORE_DOCTOR_TOTP_SECRET for the doctor)").not.toBe("");
  const last = lastStep.get(secret) ?? 0;
  let step = Math.floor((Date.now() + 30_000) / 30_000);
  if (step <= last) {
    await page.waitForTimeout(last * 30_000 - Date.now() + 500);
    step = last + 1;
  }
  lastStep.set(secret, step);
  return totp(secret, step * 30_000);
}

/** signInDoctor logs the stack's doctor in on page: CRM, UF, password, then the TOTP
 * code of a 30-second step no earlier login used. */
export async function signInDoctor(page: Page, next = "/app/agenda") {
  await page.goto(`/app/doctor/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel("CRM", { exact: true }).fill(doctorCRM);
  await page.getByLabel("UF do CRM").selectOption(doctorUF);
  await page.getByLabel("Senha", { exact: true }).fill(doctorPassword);
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Verificação em duas etapas");
  await page.getByLabel("Código de verificação").fill(await nextCode(page));
  await page.getByRole("button", { name: "Confirmar" }).click();
  await expect(page).toHaveURL(new RegExp(next.replace(/[/]/g, "\\/") + "$"));
}

/** openDoctor finds the stack's doctor by search and opens its page. */
export async function openDoctor(page: Page) {
  await page.goto("/app/doctors");
  await page.getByLabel("Especialidade").selectOption("cardiologia");
  await page.getByLabel("Distância").selectOption("50");
  await page.getByRole("button", { name: "Buscar" }).click();
  await page.getByRole("link", { name: "Dra. Ana Souza" }).click();
}

export const demo = process.env.HEALTHCORE_DEMO_URL ?? "http://127.0.0.1:7091";

/** bookAndPay books the stack's doctor's free slot number nth for the signed-in patient
 * on page, pays it in the PIX sandbox and waits for the page to say so; it answers the
 * appointment page's address. */
export async function bookAndPay(page: Page, request: APIRequestContext, nth: number, reason: string): Promise<string> {
  await openDoctor(page);
  await page.getByRole("radio").nth(nth).check();
  await page.getByLabel("Motivo da consulta").fill(reason);
  const charge = chargeOf(page);
  await page.getByRole("button", { name: "Agendar e pagar com PIX" }).click();
  await expect(page.locator("#state")).toHaveText("Aguardando pagamento");
  expect((await request.post(`${sandbox}/sandbox/payments/${await charge}/approve`)).ok()).toBe(true);
  await expect(page.locator("#state")).toHaveText("Pago · aguardando o médico", { timeout: 45_000 });
  return page.url();
}

/** accept has the signed-in doctor on doc accept the booking waiting with reason. */
export async function accept(doc: Page, reason: string) {
  await doc.goto("/app/agenda");
  const item = doc.getByRole("region", { name: "Aguardando sua resposta" }).getByRole("listitem").filter({ hasText: `Motivo: ${reason}` });
  await item.getByRole("button", { name: "Aceitar" }).click();
  await expect(item).toHaveCount(0);
}

/** doctorBrowser opens a browser context of the doctor's own (its own cookie), in the
 * patient's locale and zone, with the doctor signed in on its page. */
export async function doctorBrowser(browser: Browser, baseURL: string, csp: string[]): Promise<Page> {
  const context = await browser.newContext({ baseURL, locale: "pt-BR", timezoneId: "America/Sao_Paulo" });
  const doc = await context.newPage();
  watchCSP(doc, csp);
  await signInDoctor(doc);
  return doc;
}

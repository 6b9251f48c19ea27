import AxeBuilder from "@axe-core/playwright";
import { expect, test, type APIRequestContext, type Page } from "@playwright/test";
import { recordJourney } from "./record";
import { totp } from "./totp";

// A patient's first journey in the browser, against a real healthcore dev stack (make
// test-web): sign up, confirm the e-mail, log in by CPF, search, open a doctor, book,
// pay by PIX (the sandbox approves, the page updates by itself); then the doctor, in a
// browser of its own, logs in with CRM, password and the authenticator's code, finds
// the booking first in the agenda with its answer deadline and accepts it, and the
// patient's page turns to confirmed with the room's hours; last, "my appointments".
// Every page is checked with axe-core (no serious or critical violation of WCAG 2.1
// A/AA) and photographed at a phone's and a desktop's width.

const sandbox = process.env.HEALTHCORE_PIX_SANDBOX ?? "http://127.0.0.1:7090";
const password = "Correct-Horse-Battery-9";
// The stack's verified doctor (e2e/web_test.go), and its TOTP secret.
const doctorCRM = process.env.HEALTHCORE_DOCTOR_CRM ?? "654321";
const doctorUF = process.env.HEALTHCORE_DOCTOR_UF ?? "SP";
const doctorPassword = process.env.HEALTHCORE_DOCTOR_PASSWORD ?? "doctor password 1";
const doctorSecret = process.env.HEALTHCORE_DOCTOR_TOTP_SECRET ?? "";

/** a CPF with valid check digits, from nine digits. */
function cpf(nine: string): string {
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

async function check(page: Page, name: string) {
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
async function mailToken(request: APIRequestContext, address: string, pagePath: string): Promise<string> {
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
function chargeOf(page: Page): Promise<string> {
  return page
    .waitForResponse(async (r) => {
      if (!/\/v1\/appointments\/[^/]+\/payment/.test(r.url()) || r.status() !== 200) return false;
      const body = await r.json();
      return Boolean(body.payment?.providerPaymentId);
    })
    .then(async (r) => (await r.json()).payment.providerPaymentId as string);
}

test("a patient signs up, books and pays by PIX, the doctor accepts, the patient sees it confirmed", async ({ page, request, browser, baseURL }) => {
  const csp: string[] = [];
  const watchCSP = (p: Page) =>
    p.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy/i.test(m.text())) csp.push(m.text());
    });
  watchCSP(page);
  const nine = String(Date.now()).slice(-9);
  const email = `paciente${nine}@example.com`;
  const myCPF = cpf(nine);

  // Sign up: the root sends a visitor to the sign-up page.
  await page.goto("/");
  await expect(page).toHaveURL(/\/app\/signup$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Criar conta de paciente");
  await page.getByLabel("Nome completo").fill("Maria da Silva");
  await page.getByLabel("E-mail").fill(email);
  const cpfField = page.getByLabel("CPF");
  await cpfField.pressSequentially(myCPF.slice(0, 10) + ((Number(myCPF[10]) + 1) % 10));
  await expect(page.getByText("CPF inválido: os dígitos verificadores não conferem.")).toBeVisible();
  await cpfField.press("Backspace");
  await cpfField.pressSequentially(myCPF[10]);
  await expect(cpfField).toHaveValue(`${myCPF.slice(0, 3)}.${myCPF.slice(3, 6)}.${myCPF.slice(6, 9)}-${myCPF.slice(9)}`);
  await expect(page.getByText("CPF válido.")).toBeVisible();
  await page.getByLabel("Celular").pressSequentially("11987654321");
  await expect(page.getByLabel("Celular")).toHaveValue("(11) 98765-4321");
  await page.getByLabel("Data de nascimento").fill("1985-04-12");
  await page.getByLabel("Senha", { exact: true }).fill("curta");
  await expect(page.getByText(/Força: Muito fraca/)).toBeVisible();
  await page.getByLabel("Senha", { exact: true }).fill(password);
  await expect(page.getByText(/Força: Forte/)).toBeVisible();
  await check(page, "01-signup");
  await page.getByRole("button", { name: "Criar conta" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Confirme seu e-mail");

  // The link from the e-mail.
  const token = await mailToken(request, email, "/app/verify-email");
  await page.goto(`/app/verify-email?token=${token}`);
  await expect(page.getByText("E-mail confirmado.")).toBeVisible();
  await check(page, "02-verify-email");

  // Log in by CPF, punctuated as people type it.
  await page.getByRole("link", { name: "Entrar" }).first().click();
  await expect(page).toHaveURL(/\/app\/login/);
  await page.getByLabel("E-mail ou CPF").fill(`${myCPF.slice(0, 3)}.${myCPF.slice(3, 6)}.${myCPF.slice(6, 9)}-${myCPF.slice(9)}`);
  await page.getByLabel("Senha", { exact: true }).fill("wrong password 1");
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page.getByRole("alert")).toHaveText("E-mail, CPF ou senha incorretos.");
  await check(page, "03-login");
  await page.getByLabel("Senha", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Entrar" }).click();
  await expect(page).toHaveURL(/\/app\/doctors$/);
  // The refresh token is in an httpOnly cookie: no script of the page can read it.
  expect(await page.evaluate(() => document.cookie)).not.toContain("hc_refresh");

  // Search: cardiology near São Paulo; 4 stars or more finds no one (the doctor is new).
  await page.getByLabel("Especialidade").selectOption("cardiologia");
  await page.getByLabel("Distância").selectOption("50");
  await page.getByLabel("Avaliação mínima").selectOption("4");
  await page.getByRole("button", { name: "Buscar" }).click();
  await expect(page.getByText("Nenhum médico encontrado com esses filtros.")).toBeVisible();
  await page.getByLabel("Avaliação mínima").selectOption("0");
  await page.getByRole("button", { name: "Buscar" }).click();
  const doctor = page.getByRole("link", { name: "Dra. Ana Souza" });
  await expect(doctor).toBeVisible();
  await check(page, "04-search");

  // The doctor's page: profile, price, the week's open slots in the patient's zone.
  await doctor.click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dra. Ana Souza");
  const doctorPage = page.url();
  await expect(page.getByText("R$ 250,00").first()).toBeVisible();
  await expect(page.getByText("Horários no seu fuso (America/Sao_Paulo).")).toBeVisible();
  const slots = page.getByRole("radio");
  await expect(slots.first()).toBeVisible();
  await slots.nth(3).check();
  await page.getByLabel("Motivo da consulta").fill("Dor no peito ao subir escadas.");
  await check(page, "05-doctor");

  // Book: the PIX QR code, the copy-and-paste code and the countdown.
  const paymentAnswer = chargeOf(page);
  await page.getByRole("button", { name: "Agendar e pagar com PIX" }).click();
  await expect(page).toHaveURL(/\/app\/appointments\/[0-9a-f-]+$/);
  await expect(page.getByRole("img", { name: "QR Code do PIX" })).toBeVisible();
  await expect(page.getByLabel("PIX copia e cola")).not.toHaveValue("");
  await expect(page.locator(".countdown time")).toHaveText(/^\d\d:\d\d$/);
  await expect(page.locator("#state")).toHaveText("Aguardando pagamento");
  await check(page, "06-payment");

  // The sandbox approves the charge: the page follows by itself (long-poll), no reload.
  const approved = await request.post(`${sandbox}/sandbox/payments/${await paymentAnswer}/approve`);
  expect(approved.ok()).toBe(true);
  await expect(page.locator("#state")).toHaveText("Pago · aguardando o médico", { timeout: 45_000 });
  await expect(page.getByRole("img", { name: "QR Code do PIX" })).toHaveCount(0);
  await check(page, "07-paid");

  // The doctor, in a browser of its own: the agenda needs a login, the doctor's.
  const doctorContext = await browser.newContext({ baseURL, locale: "pt-BR", timezoneId: "America/Sao_Paulo" });
  const doc = await doctorContext.newPage();
  watchCSP(doc);
  await doc.goto("/app/agenda");
  await expect(doc).toHaveURL(/\/app\/doctor\/login\?next=%2Fapp%2Fagenda$/);
  await expect(doc.getByRole("heading", { level: 1 })).toHaveText("Entrar como médico");
  await doc.getByLabel("CRM", { exact: true }).fill(doctorCRM);
  await doc.getByLabel("UF do CRM").selectOption(doctorUF);
  await doc.getByLabel("Senha", { exact: true }).fill("wrong password 1");
  await doc.getByRole("button", { name: "Entrar" }).click();
  await expect(doc.getByRole("alert")).toHaveText("CRM, UF ou senha incorretos.");
  await check(doc, "08-doctor-login");
  await doc.getByLabel("Senha", { exact: true }).fill(doctorPassword);
  await doc.getByRole("button", { name: "Entrar" }).click();

  // The second factor: the code of the next 30-second step, as an authenticator turning
  // over shows it (the current one may be spent: the enrolment confirmed with it).
  await expect(doc.getByRole("heading", { level: 1 })).toHaveText("Verificação em duas etapas");
  expect(doctorSecret, "HEALTHCORE_DOCTOR_TOTP_SECRET").not.toBe("");
  // A wrong code (none of the steps around now) is refused and the step stays open.
  const near = new Set([-60, -30, 0, 30, 60].map((d) => totp(doctorSecret, Date.now() + d * 1000)));
  const wrong = ["000000", "111111", "222222", "333333", "444444", "555555"].find((c) => !near.has(c))!;
  await doc.getByLabel("Código de verificação").fill(wrong);
  await doc.getByRole("button", { name: "Confirmar" }).click();
  await expect(doc.getByRole("alert")).toHaveText("Código de verificação incorreto.");
  await check(doc, "09-doctor-code");
  await doc.getByLabel("Código de verificação").fill(totp(doctorSecret, Date.now() + 30_000));
  await doc.getByRole("button", { name: "Confirmar" }).click();
  await expect(doc).toHaveURL(/\/app\/agenda$/);
  await expect(doc.getByRole("heading", { level: 1 })).toHaveText("Minha agenda");
  expect(await doc.evaluate(() => document.cookie)).not.toContain("hc_refresh");

  // The agenda: the paid booking first, waiting for an answer, with its deadline; after
  // a reload the doctor's session comes back from the cookie.
  await doc.reload();
  const pending = doc.getByRole("region", { name: "Aguardando sua resposta" });
  const request1 = pending.getByRole("listitem");
  await expect(request1).toHaveCount(1);
  await expect(request1.getByText("Motivo: Dor no peito ao subir escadas.")).toBeVisible();
  await expect(request1.getByText(/^Responda até/)).toBeVisible();
  await expect(request1.getByText("R$ 250,00")).toBeVisible();
  const week = doc.getByRole("region", { name: /^Consultas/ });
  await expect(week.getByText("Pago · aguardando o médico")).toBeVisible();
  // Refusing asks why; going back keeps the booking waiting.
  await request1.getByRole("button", { name: "Recusar" }).click();
  await expect(request1.getByLabel("Motivo da recusa (o paciente verá)")).toBeVisible();
  await expect(request1.getByRole("button", { name: "Confirmar recusa" })).toBeDisabled();
  await check(doc, "10-agenda");
  await request1.getByRole("button", { name: "Voltar" }).click();
  await request1.getByRole("button", { name: "Aceitar" }).click();
  await expect(pending.getByText("Nenhum pedido de consulta aguarda resposta.")).toBeVisible();
  await expect(week.getByText("Confirmada")).toBeVisible();
  await doc.getByRole("button", { name: "Dia" }).click();
  await expect(doc.getByRole("button", { name: "Dia" })).toHaveAttribute("aria-pressed", "true");
  await check(doc, "11-agenda-accepted");

  // The patient's page follows by itself: confirmed, and when the room is open.
  await expect(page.locator("#state")).toHaveText("Confirmada", { timeout: 30_000 });
  await expect(page.locator("#room")).toContainText(/A sala de consulta fica aberta das \d\d:\d\d às \d\d:\d\d\./);
  await check(page, "12-confirmed");

  // The record: upload, share with this doctor, the doctor opens it, revoke, refused, the access log.
  await recordJourney({ page, doctorContext, doctorName: "Dra. Ana Souza", check, watch: watchCSP });

  // A second booking, which the doctor refuses with a reason: the patient reads it, and
  // the full refund.
  await page.goto(doctorPage);
  await page.getByRole("radio").nth(5).check();
  await page.getByLabel("Motivo da consulta").fill("Retorno com exames.");
  const secondCharge = chargeOf(page);
  await page.getByRole("button", { name: "Agendar e pagar com PIX" }).click();
  await expect(page.locator("#state")).toHaveText("Aguardando pagamento");
  expect((await request.post(`${sandbox}/sandbox/payments/${await secondCharge}/approve`)).ok()).toBe(true);
  await expect(page.locator("#state")).toHaveText("Pago · aguardando o médico", { timeout: 45_000 });
  await doc.reload();
  const request2 = pending.getByRole("listitem");
  await expect(request2.getByText("Motivo: Retorno com exames.")).toBeVisible();
  await request2.getByRole("button", { name: "Recusar" }).click();
  await request2.getByLabel("Motivo da recusa (o paciente verá)").fill("Estarei em um congresso neste horário.");
  await request2.getByRole("button", { name: "Confirmar recusa" }).click();
  await expect(pending.getByText("Nenhum pedido de consulta aguarda resposta.")).toBeVisible();
  await doctorContext.close();
  await expect(page.locator("#state")).toHaveText("Recusada pelo médico", { timeout: 30_000 });
  await expect(page.locator("#refusal")).toHaveText("Motivo da recusa: Estarei em um congresso neste horário.");
  await expect(page.getByText("Reembolso integral: R$ 250,00.")).toBeVisible();
  await check(page, "13-refused");

  // My appointments, after a reload: the session comes back from the cookie.
  await page.reload();
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Minhas consultas" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Minhas consultas");
  const upcoming = page.getByRole("region", { name: "Próximas" });
  await expect(upcoming.getByText("Confirmada")).toBeVisible();
  await expect(upcoming.getByText("Recusada pelo médico")).toBeVisible();
  await expect(upcoming.getByText("R$ 250,00")).toHaveCount(2);
  await check(page, "14-appointments");

  // Log out: the cookie is gone, a private page sends to the login.
  await page.getByRole("button", { name: "Sair" }).click();
  await expect(page).toHaveURL(/\/app\/login$/);
  await page.goto("/app/appointments");
  await expect(page).toHaveURL(/\/app\/login\?next=/);
  expect(csp, "Content-Security-Policy violations").toEqual([]);
});

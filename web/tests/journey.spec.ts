import { expect, test } from "@playwright/test";
import { chargeOf, check, cpf, doctorCRM, doctorPassword, doctorSecret, doctorUF, mailToken, nextCode, password, sandbox, watchCSP } from "./helpers";
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

test("a patient signs up, books and pays by PIX, the doctor accepts, the patient sees it confirmed", async ({ page, request, browser, baseURL }) => {
  const csp: string[] = [];
  watchCSP(page, csp);
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
  watchCSP(doc, csp);
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
  await doc.getByLabel("Código de verificação").fill(await nextCode(doc));
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
  await recordJourney({ page, doctorContext, doctorName: "Dra. Ana Souza", check, watch: (p) => watchCSP(p, csp) });

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

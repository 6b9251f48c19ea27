import { expect, test } from "@playwright/test";
import { accept, bookAndPay, check, doctorBrowser, newPatient, watchCSP } from "./helpers";

// The patient cancels with a justification and reads, before confirming, the refund the
// platform's policy gives now (the API's quote, cancelRefundCents): in full while the
// doctor has not answered; half once the doctor accepted, less than 24 hours before the
// start. The page then follows the refund to its end ("Estornado"), by itself.
test("a patient cancels with a justification, sees the refund before confirming and the money back after", async ({ page, request, browser, baseURL }) => {
  const csp: string[] = [];
  watchCSP(page, csp);
  await newPatient(page, request, "Paula Reembolso");

  // Paid, the doctor has not answered: the whole price comes back.
  await bookAndPay(page, request, 1, "Exames de rotina.");
  await page.getByRole("button", { name: "Cancelar consulta" }).click();
  const form = page.getByRole("region", { name: "Cancelar a consulta" });
  await expect(form.locator("#refund-quote")).toHaveText("Cancelando agora, você recebe de volta R$ 250,00 de R$ 250,00, por PIX.");
  // The justification is required, at least 10 characters.
  await form.getByLabel("Justificativa (o médico verá)").fill("viagem");
  await expect(form.getByRole("button", { name: "Confirmar cancelamento" })).toBeDisabled();
  await check(page, "20-cancel-quote");
  await form.getByLabel("Justificativa (o médico verá)").fill("Viagem de trabalho inesperada.");
  await form.getByRole("button", { name: "Confirmar cancelamento" }).click();
  await expect(page.locator("#state")).toHaveText("Cancelada");
  await expect(page.locator("#refund")).toHaveText("Reembolso pela política de cancelamento: R$ 250,00.");
  await expect(page.getByText("Pagamento: Estornado", { exact: true })).toBeVisible({ timeout: 45_000 });
  await expect(page.getByRole("button", { name: "Cancelar consulta" })).toHaveCount(0);
  await check(page, "21-cancelled-refunded");

  // Confirmed by the doctor, less than 24 hours before the start: half the price.
  const second = await bookAndPay(page, request, 2, "Palpitações à noite.");
  const doc = await doctorBrowser(browser, baseURL!, csp);
  await accept(doc, "Palpitações à noite.");
  await doc.context().close();
  expect(page.url()).toBe(second);
  await expect(page.locator("#state")).toHaveText("Confirmada", { timeout: 30_000 });
  await page.getByRole("button", { name: "Cancelar consulta" }).click();
  await expect(page.locator("#refund-quote")).toHaveText("Cancelando agora, você recebe de volta R$ 125,00 de R$ 250,00, por PIX.");
  await page.getByLabel("Justificativa (o médico verá)").fill("Não vou conseguir sair do trabalho.");
  await page.getByRole("button", { name: "Confirmar cancelamento" }).click();
  await expect(page.locator("#state")).toHaveText("Cancelada");
  await expect(page.locator("#refund")).toHaveText("Reembolso pela política de cancelamento: R$ 125,00.");
  await expect(page.getByText("Pagamento: Estornado em parte", { exact: true })).toBeVisible({ timeout: 45_000 });

  // My appointments lists both, cancelled.
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Minhas consultas" }).click();
  await expect(page.getByText("Cancelada")).toHaveCount(2);
  expect(csp, "Content-Security-Policy violations").toEqual([]);
});

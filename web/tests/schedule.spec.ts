import { expect, test } from "@playwright/test";
import { check, signInDoctor, watchCSP } from "./helpers";

// The doctor's editors: the profile and the weekly availability with a date exception,
// each saved, reloaded and read back the same; the preview is the platform's own
// listing of the free slots the new availability generated. Last, the doctor is left as
// the other journeys expect it (all-day hours, R$ 250,00).
test("the doctor edits the profile and the availability; a reload reads the same; the preview shows the slots", async ({ page }) => {
  const csp: string[] = [];
  watchCSP(page, csp);
  await signInDoctor(page, "/app/doctor/profile");

  // The profile: listed; a new presentation, price and languages, saved and read back.
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Meu perfil");
  await expect(page.getByLabel("Nome exibido")).toHaveValue("Dra. Ana Souza");
  await expect(page.getByRole("button", { name: "Remover Cardiologia" })).toBeVisible();
  await expect(page.locator("#listing")).toHaveText("Seu perfil aparece na busca.");
  await page.getByLabel("Apresentação").fill("Cardiologista com 15 anos de experiência em prevenção.");
  await page.getByLabel("Preço da consulta (R$)").fill("260,00");
  await page.getByLabel("Idiomas").fill("pt-BR, en");
  await page.getByLabel("RQE em Cardiologia").fill("12345");
  await page.getByRole("button", { name: "Salvar perfil" }).click();
  await expect(page.getByText("Perfil salvo.")).toBeVisible();
  await check(page, "40-profile");
  await page.reload();
  await expect(page.getByLabel("Apresentação")).toHaveValue("Cardiologista com 15 anos de experiência em prevenção.");
  await expect(page.getByLabel("Preço da consulta (R$)")).toHaveValue("260,00");
  await expect(page.getByLabel("Idiomas")).toHaveValue("pt-BR, en");
  await expect(page.getByLabel("RQE em Cardiologia")).toHaveValue("12345");
  await expect(page.getByLabel("Cidade")).toHaveValue("São Paulo");

  // The availability: every day 08:00–12:00, tomorrow off.
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Horários" }).click();
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Horários de atendimento");
  const starts = page.getByLabel(/^Início \(/);
  await expect(starts).toHaveCount(7);
  for (let i = 0; i < 7; i++) {
    await starts.nth(i).fill("08:00");
    await page.getByLabel(/^Fim \(/).nth(i).fill("12:00");
  }
  const day = (offset: number, opts: Intl.DateTimeFormatOptions, locale = "pt-BR") =>
    page.evaluate(
      ([o, x, l]) => new Intl.DateTimeFormat(l as string, { ...(x as Intl.DateTimeFormatOptions), timeZone: "America/Sao_Paulo" }).format(new Date(Date.now() + (o as number) * 86400_000)),
      [offset, opts, locale] as const,
    );
  const tomorrow = await day(1, { year: "numeric", month: "2-digit", day: "2-digit" }, "en-CA");
  await page.getByRole("button", { name: "+ Exceção" }).click();
  await page.getByLabel("Data (exceção 1)").fill(tomorrow);
  await expect(page.getByLabel("Tipo (exceção 1)")).toHaveValue("EXCEPTION_KIND_DAY_OFF");
  await page.getByRole("button", { name: "Salvar horários" }).click();
  await expect(page.locator("#saved")).toContainText(/^Horários salvos: \d+ horários criados, \d+ removidos\./);

  // The preview: the platform's free slots — none tomorrow, 08:00 to 11:30 every 30
  // minutes (25-minute slots and a 5-minute pause) the day after.
  const preview = page.getByRole("region", { name: "Horários livres nos próximos 7 dias" });
  const dayAfter = await day(2, { weekday: "long", day: "2-digit", month: "2-digit" });
  await expect(preview.getByRole("region", { name: dayAfter }).locator("p")).toHaveText("08:00 · 08:30 · 09:00 · 09:30 · 10:00 · 10:30 · 11:00 · 11:30");
  await expect(preview.getByRole("region", { name: await day(1, { weekday: "long", day: "2-digit", month: "2-digit" }) })).toHaveCount(0);
  await check(page, "41-availability");

  // A reload reads the same back.
  await page.reload();
  await expect(page.getByLabel(/^Início \(/)).toHaveCount(7);
  for (let i = 0; i < 7; i++) {
    await expect(page.getByLabel(/^Início \(/).nth(i)).toHaveValue("08:00");
    await expect(page.getByLabel(/^Fim \(/).nth(i)).toHaveValue("12:00");
  }
  await expect(page.getByLabel("Data (exceção 1)")).toHaveValue(tomorrow);
  await expect(page.getByLabel("Duração de cada horário (minutos)")).toHaveValue("25");
  await expect(page.getByLabel("Intervalo entre horários (minutos)")).toHaveValue("5");

  // Leave the doctor as the other journeys expect it: every day all day (23:59 stands
  // for midnight), no exception, R$ 250,00.
  for (let i = 0; i < 7; i++) {
    await page.getByLabel(/^Início \(/).nth(i).fill("00:00");
    await page.getByLabel(/^Fim \(/).nth(i).fill("23:59");
  }
  await page.getByRole("button", { name: "Remover exceção 1" }).click();
  await page.getByRole("button", { name: "Salvar horários" }).click();
  await expect(page.locator("#saved")).toContainText("Horários salvos");
  await page.reload();
  await expect(page.getByLabel(/^Fim \(/).first()).toHaveValue("23:59");
  await expect(page.getByLabel("Data (exceção 1)")).toHaveCount(0);
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Meu perfil" }).click();
  await page.getByLabel("Preço da consulta (R$)").fill("250,00");
  await page.getByRole("button", { name: "Salvar perfil" }).click();
  await expect(page.getByText("Perfil salvo.")).toBeVisible();
  expect(csp, "Content-Security-Policy violations").toEqual([]);
});

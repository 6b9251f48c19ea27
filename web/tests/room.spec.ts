import { expect, test } from "@playwright/test";
import { accept, bookAndPay, check, demo, doctorBrowser, newPatient, watchCSP } from "./helpers";

// The consultation room, for the patient and the doctor, on a dev -demo stack (a slot
// may be booked 31 minutes ahead and its room opens an hour before the start): the
// first bookable slot's room is open, a later one's says when it opens; the demo's
// finish control ends the consultation, and the patient reviews the doctor, once.
test("the room opens for a confirmed appointment, for both; after it the patient reviews once", async ({ page, request, browser, baseURL }) => {
  const csp: string[] = [];
  watchCSP(page, csp);
  await newPatient(page, request, "Rui Consulta");
  const later = await bookAndPay(page, request, 4, "Acompanhamento da pressão.");
  const soon = await bookAndPay(page, request, 0, "Falta de ar ao caminhar.");
  const doc = await doctorBrowser(browser, baseURL!, csp);
  await accept(doc, "Acompanhamento da pressão.");
  await accept(doc, "Falta de ar ao caminhar.");

  // Not yet: the room says when it opens (the API's window_start_time).
  await page.goto(later);
  await expect(page.locator("#state")).toHaveText("Confirmada");
  await page.getByRole("link", { name: "Entrar na sala de consulta" }).click();
  await expect(page).toHaveURL(/\/app\/appointments\/[0-9a-f-]+\/room$/);
  await expect(page.getByRole("heading", { name: "A sala ainda não abriu" })).toBeVisible();
  await expect(page.locator("#opens")).toContainText(/Ela abre em .+ às \d\d:\d\d\./);
  await check(page, "30-room-not-yet");

  // The first slot's room is open (or opens within a minute: the page asks again by
  // itself): the Jitsi room, framed, and a link to open it in a tab.
  await page.goto(soon);
  await expect(page.locator("#state")).toHaveText("Confirmada");
  await page.getByRole("link", { name: "Entrar na sala de consulta" }).click();
  const video = page.getByTitle("Sala de vídeo da consulta");
  await expect(video).toBeVisible({ timeout: 90_000 });
  const room = await video.getAttribute("src");
  expect(room).toMatch(/^https:\/\/meet\.jit\.si\/\S+/);
  await expect(page.getByRole("link", { name: "Abrir a sala em outra aba" })).toHaveAttribute("href", room!);
  await expect(page.locator("#window")).toContainText(/Consulta às \d\d:\d\d; a sala fecha às \d\d:\d\d/);
  await check(page, "31-room-patient");

  // The doctor reaches the same room from the agenda.
  await doc.goto("/app/agenda");
  await doc
    .getByRole("region", { name: /^Consultas/ })
    .getByRole("listitem")
    .filter({ hasText: "Falta de ar ao caminhar." })
    .getByRole("link", { name: "Sala de consulta" })
    .click();
  await expect(doc.getByTitle("Sala de vídeo da consulta")).toHaveAttribute("src", room!);
  await check(doc, "32-room-doctor");
  await doc.context().close();

  // The consultation ends (the demo's control, as the window's end would): the patient
  // rates it, once.
  const id = soon.split("/").pop()!;
  expect((await request.post(`${demo}/demo/appointments/${id}/finish`)).ok()).toBe(true);
  await page.goto(soon);
  await expect(page.locator("#state")).toHaveText("Realizada", { timeout: 30_000 });
  const review = page.getByRole("region", { name: "Como foi a consulta?" });
  await expect(review.getByRole("button", { name: "Enviar avaliação" })).toBeDisabled();
  await review.getByRole("radio", { name: "5 · Excelente" }).check();
  await review.getByLabel("Comentário (opcional, público)").fill("Muito atenciosa, explicou tudo com calma.");
  await check(page, "33-review");
  await review.getByRole("button", { name: "Enviar avaliação" }).click();
  await expect(page.getByRole("status").filter({ hasText: "Obrigado" })).toHaveText("Obrigado pela avaliação! A nota do médico agora é 5 (1 avaliação).");
  // A second review of the same consultation is refused.
  await page.reload();
  await page.getByRole("radio", { name: "3 · Boa" }).check();
  await page.getByRole("button", { name: "Enviar avaliação" }).click();
  await expect(page.getByText("Você já avaliou esta consulta. Obrigado!")).toBeVisible();
  // The doctor's public reviews list it (the doctor's page, cached by the browser for
  // a minute, shows it on a later visit).
  const found = await (await request.get("/v1/doctors?specialty=cardiologia")).json();
  const doctorId = found.results[0].profile.doctorId;
  const reviews = await (await request.get(`/v1/doctors/${doctorId}/reviews`)).json();
  expect(reviews.reviews.map((r: { stars: number; comment: string }) => [r.stars, r.comment])).toEqual([[5, "Muito atenciosa, explicou tudo com calma."]]);
  expect(csp, "Content-Security-Policy violations").toEqual([]);
});

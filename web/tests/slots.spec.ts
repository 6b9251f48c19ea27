import { expect, test } from "@playwright/test";
import { check, doctorBrowser, newPatient, openDoctor, watchCSP } from "./helpers";

// The doctor takes a slot out of booking from the agenda's day list: the patient's view
// of the doctor's week no longer offers it; reopened, it is offered again.
test("the doctor blocks a slot from the agenda, patients no longer see it, and reopens it", async ({ page, request, browser, baseURL }) => {
  const csp: string[] = [];
  watchCSP(page, csp);
  await newPatient(page, request, "Caio Bloqueio");
  const doc = await doctorBrowser(browser, baseURL!, csp);

  // The day after tomorrow, far from the other journeys' bookings.
  const day = new Date();
  day.setDate(day.getDate() + 2);
  const iso = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, "0")}-${String(day.getDate()).padStart(2, "0")}`;
  await doc.getByLabel("Dia", { exact: true }).fill(iso);
  const list = doc.getByRole("list", { name: /^Horários de / });
  await expect(list.getByRole("listitem").first()).toBeVisible();
  const first = list.getByRole("listitem").filter({ has: doc.getByRole("button", { name: "Bloquear" }) }).first();
  const name = (await first.getAttribute("aria-label"))!;
  const item = list.getByRole("listitem", { name, exact: true });
  await expect(item).toContainText("Livre");
  const blocked = doc.waitForResponse((r) => r.url().endsWith(":block") && r.ok());
  await item.getByRole("button", { name: "Bloquear" }).click();
  const slot = (await (await blocked).json()).slot as { id: string; status: string };
  expect(slot.status).toBe("SLOT_STATUS_BLOCKED");
  await expect(item).toContainText("Bloqueado");
  await expect(item.getByRole("button", { name: "Reabrir" })).toBeVisible();
  await check(doc, "85-agenda-slot-blocked");

  // The patient's week: that day's other slots, not the blocked one.
  await openDoctor(page);
  const offered = page.locator(`input[type=radio][value="${slot.id}"]`);
  await expect(page.getByRole("radio").first()).toBeVisible();
  await expect(offered).toHaveCount(0);

  await item.getByRole("button", { name: "Reabrir" }).click();
  await expect(item).toContainText("Livre");
  await expect(item.getByRole("button", { name: "Bloquear" })).toBeVisible();
  await page.reload();
  await expect(offered).toHaveCount(1);
  await doc.context().close();
  expect(csp, "Content-Security-Policy violations").toEqual([]);
});

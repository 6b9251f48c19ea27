import { expect, type BrowserContext, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

// The record's journey, run by journey.spec.ts once the patient's appointment is
// confirmed (the doctor of that appointment is the first one offered to share with):
// the patient files a real PDF in a group by the file picker (a file of the wrong type,
// dropped on the drop zone, is refused before anything is sent), shares it with the
// doctor; the doctor, in a page of its own browser context, downloads it (the same
// bytes); the patient revokes; the doctor's next download, from the list still on
// screen, is refused with the API's reason in pt-BR; the patient's access log shows
// both of the doctor's reads, allowed and denied, with the doctor's name, the
// document and the time.

const fixture = fileURLToPath(new URL("./fixtures/hemograma.pdf", import.meta.url));

export type RecordJourney = {
  page: Page;
  doctorContext: BrowserContext;
  doctorName: string;
  check: (page: Page, name: string) => Promise<void>;
  watch: (page: Page) => void;
};

export async function recordJourney({ page, doctorContext, doctorName, check, watch }: RecordJourney) {
  const started = Date.now();
  const pdf = readFileSync(fixture);

  // The record, from the header.
  await page.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Meu prontuário" }).click();
  await expect(page).toHaveURL(/\/app\/record$/);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText("Meu prontuário");
  await expect(page.getByText("Nenhum documento ainda. Envie o primeiro acima.")).toBeVisible();

  // A group to file it in.
  const groups = page.getByRole("region", { name: "Grupos" });
  await groups.getByLabel("Nome do novo grupo").fill("Cardiologia 2026");
  await groups.getByRole("button", { name: "Criar grupo" }).click();
  await expect(groups.getByRole("listitem")).toHaveText("Cardiologia 2026 0");

  // A text file dropped on the drop zone is refused before anything is sent.
  const upload = page.getByRole("region", { name: "Enviar documento" });
  const notes = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(["anotações"], "anotacoes.txt", { type: "text/plain" }));
    return dt;
  });
  await upload.getByTestId("dropzone").dispatchEvent("drop", { dataTransfer: notes });
  await expect(upload.getByRole("alert")).toHaveText("anotacoes.txt: tipo de arquivo não aceito. Envie PDF, JPEG, PNG, WebP ou DICOM.");
  await expect(upload.getByRole("button", { name: "Enviar documento" })).toHaveCount(0);

  // The PDF by the file picker: its name is the first title.
  await upload.getByLabel("Escolher arquivo").setInputFiles(fixture);
  await expect(upload.getByText(`hemograma.pdf · ${pdf.length} B`)).toBeVisible();
  await expect(upload.getByRole("alert")).toHaveCount(0);
  await expect(upload.getByLabel("Título")).toHaveValue("hemograma");
  await upload.getByLabel("Título").fill("Hemograma completo");
  await upload.getByLabel("Tipo").selectOption({ label: "Exame" });
  const yesterday = new Date(Date.now() - 86400_000);
  const examISO = `${yesterday.getFullYear()}-${String(yesterday.getMonth() + 1).padStart(2, "0")}-${String(yesterday.getDate()).padStart(2, "0")}`;
  await upload.getByLabel("Data do exame (opcional)").fill(examISO);
  await upload.getByLabel("Grupo").selectOption({ label: "Cardiologia 2026" });
  // The progress bar shows while the upload is under way: the test holds the request
  // until it has seen it, then lets it through unchanged.
  let sawProgress = false;
  await page.route("**/v1/records/documents:upload", async (route) => {
    await expect(upload.getByRole("progressbar", { name: "Enviando…" })).toBeVisible();
    await expect(upload.getByRole("button", { name: "Enviar documento" })).toBeDisabled();
    sawProgress = true;
    await route.continue();
  });
  await upload.getByRole("button", { name: "Enviar documento" }).click();
  await expect(upload.getByRole("status")).toHaveText("Documento enviado: Hemograma completo.");
  expect(sawProgress).toBe(true);
  await page.unroute("**/v1/records/documents:upload");
  await expect(upload.getByRole("progressbar")).toHaveCount(0);

  const docs = page.getByRole("region", { name: "Documentos" });
  const row = docs.getByRole("listitem").filter({ hasText: "Hemograma completo" });
  await expect(row).toHaveCount(1);
  await expect(row).toContainText(`Exame · exame de ${examISO.split("-").reverse().join("/")} · ${pdf.length} B`);
  await expect(row.getByLabel("Grupo de Hemograma completo")).toHaveValue(/[0-9a-f-]{36}/);
  await expect(groups.getByRole("listitem")).toHaveText("Cardiologia 2026 1");
  // The patient downloads it back: the same bytes.
  const own = page.waitForEvent("download");
  await row.getByRole("button", { name: "Baixar Hemograma completo" }).click();
  expect(readFileSync((await (await own).path())!).equals(pdf)).toBe(true);

  // Share it with the doctor of the confirmed appointment, offered first.
  const share = page.getByRole("region", { name: "Compartilhar com um médico" });
  await expect(share.getByLabel("Médico", { exact: true }).locator("option:checked")).toHaveText(new RegExp(`^${doctorName} · CRM \\d+/[A-Z]{2}$`));
  await expect(share.getByRole("button", { name: "Compartilhar" })).toBeDisabled();
  await share.getByRole("group", { name: "O que compartilhar" }).getByLabel("Hemograma completo").check();
  await share.getByRole("button", { name: "Compartilhar" }).click();
  await expect(share.getByRole("status")).toHaveText(new RegExp(`^Compartilhado com ${doctorName} até \\d\\d/\\d\\d/\\d{4}\\.$`));
  const shares = page.getByRole("region", { name: "Compartilhamentos ativos" });
  const grant = shares.getByRole("listitem", { name: `Compartilhamento com ${doctorName}` });
  await expect(grant).toContainText("Ativo");
  await expect(grant).toContainText("Hemograma completo");
  await check(page, "15-record");

  // The doctor, in a page of the doctor's browser context (its session): shared with me.
  const doc = await doctorContext.newPage();
  watch(doc);
  await doc.goto("/app/agenda");
  await doc.getByRole("navigation", { name: "Principal" }).getByRole("link", { name: "Compartilhados comigo" }).click();
  await expect(doc.getByRole("heading", { level: 1 })).toHaveText("Compartilhados comigo");
  const item = doc.getByRole("listitem").filter({ hasText: "Hemograma completo" });
  await expect(item).toContainText(/Disponível até \d\d\/\d\d\/\d{4}/);
  await check(doc, "16-shared");

  // Open it: the very bytes the patient sent.
  const first = doc.waitForEvent("download");
  await item.getByRole("button", { name: "Baixar Hemograma completo" }).click();
  const file = await first;
  expect(file.suggestedFilename()).toBe("Hemograma completo.pdf");
  expect(readFileSync((await file.path())!).equals(pdf)).toBe(true);

  // The patient revokes.
  await grant.getByRole("button", { name: "Revogar" }).click();
  await expect(shares.getByText("Nenhum médico tem acesso ao seu prontuário agora.")).toBeVisible();
  await expect(shares.getByRole("listitem", { name: `Compartilhamento com ${doctorName}` })).toContainText("Revogado");

  // The doctor's next open, from the list still on screen, is refused with the reason.
  await item.getByRole("button", { name: "Baixar Hemograma completo" }).click();
  await expect(doc.getByRole("alert")).toHaveText("Hemograma completo: Este compartilhamento foi revogado.");
  await expect(doc.getByText("Nenhum documento compartilhado com você no momento.")).toBeVisible();
  await check(doc, "17-shared-revoked");
  await doc.close();

  // The access log: both of the doctor's reads, the allowed one and the refused one.
  const log = page.getByRole("region", { name: "Quem viu o quê, quando" });
  await log.getByRole("button", { name: "Atualizar" }).click();
  const reads = log.getByRole("row").filter({ hasText: doctorName }).filter({ hasText: "abriu" });
  await expect(reads).toHaveCount(2);
  // Newest first: the refused read, then the one that went through.
  await expect(reads.nth(0).getByRole("cell")).toHaveText([/./, new RegExp(`^${doctorName} · CRM \\d+/[A-Z]{2}$`), "abriu", "Hemograma completo", "Negado: Este compartilhamento foi revogado."]);
  await expect(reads.nth(1).getByRole("cell")).toHaveText([/./, new RegExp(`^${doctorName} · CRM \\d+/[A-Z]{2}$`), "abriu", "Hemograma completo", "Permitido"]);
  for (const r of [reads.nth(0), reads.nth(1)]) {
    const at = Date.parse((await r.locator("time").getAttribute("datetime"))!);
    expect(at).toBeGreaterThanOrEqual(started - 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
  }
  await check(page, "18-record-log");
  // The patient's own actions on request: the upload and the download among them.
  await log.getByLabel("Mostrar também as minhas ações").check();
  const mine = log.getByRole("row").filter({ hasText: "Você" });
  await expect(mine.filter({ hasText: "enviou" })).toHaveCount(1);
  await expect(mine.filter({ hasText: "enviou" }).getByRole("cell").nth(3)).toHaveText("Hemograma completo");
  await expect(mine.filter({ hasText: "abriu" })).toHaveCount(1);
}

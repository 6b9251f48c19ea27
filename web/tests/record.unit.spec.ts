import { expect, test } from "@playwright/test";
import { checkFile, examDay, fileType, formatSize, isoDay, maxUploadBytes, shareEnd, titleOf } from "../src/records";

test("a file is checked for type and size before it is sent", () => {
  expect(checkFile({ name: "exame.pdf", type: "application/pdf", size: 708 })).toBe("");
  expect(checkFile({ name: "raio-x.PNG", type: "image/png", size: maxUploadBytes })).toBe("");
  // DICOM files come with no type from the browser: the extension says it.
  expect(checkFile({ name: "tomografia.dcm", type: "", size: 10_000 })).toBe("");
  expect(fileType({ name: "tomografia.dcm", type: "" })).toBe("application/dicom");
  expect(fileType({ name: "foto.JPEG", type: "" })).toBe("image/jpeg");
  expect(checkFile({ name: "notas.txt", type: "text/plain", size: 10 })).toBe("notas.txt: tipo de arquivo não aceito. Envie PDF, JPEG, PNG, WebP ou DICOM.");
  expect(checkFile({ name: "foto.heic", type: "", size: 10 })).toBe("foto.heic: tipo de arquivo não aceito. Envie PDF, JPEG, PNG, WebP ou DICOM.");
  expect(checkFile({ name: "vazio.pdf", type: "application/pdf", size: 0 })).toBe("vazio.pdf: o arquivo está vazio.");
  expect(checkFile({ name: "grande.pdf", type: "application/pdf", size: maxUploadBytes + 1 })).toBe("grande.pdf: o arquivo tem 50 MB; o limite é 50 MB.");
  expect(checkFile({ name: "enorme.pdf", type: "application/pdf", size: 80 * 1024 * 1024 })).toBe("enorme.pdf: o arquivo tem 80 MB; o limite é 50 MB.");
});

test("sizes, titles and dates read as people write them", () => {
  expect(formatSize(708)).toBe("708 B");
  expect(formatSize("3482")).toBe("3,4 KB");
  expect(formatSize(12 * 1024 * 1024 + 300 * 1024)).toBe("12,3 MB");
  expect(titleOf("hemograma.pdf")).toBe("hemograma");
  expect(titleOf("laudo.final.v2.pdf")).toBe("laudo.final.v2");
  expect(titleOf(".pdf")).toBe(".pdf");
  expect(titleOf("x".repeat(300) + ".pdf")).toHaveLength(200);
  expect(examDay("2026-11-20")).toBe("20/11/2026");
  // A share chosen until a day ends at that day's last minute, local time.
  const end = shareEnd("2026-12-24");
  expect([end.getFullYear(), end.getMonth(), end.getDate(), end.getHours(), end.getMinutes()]).toEqual([2026, 11, 24, 23, 59]);
  expect(isoDay(new Date(2026, 0, 5, 23, 30))).toBe("2026-01-05");
});

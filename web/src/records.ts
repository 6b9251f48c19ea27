// The record's rules the browser checks before sending, and how its words read in
// pt-BR. The records service is the judge (it checks the type by the file's bytes and
// the size as they arrive); checking here spares a patient a long upload that would be
// refused.

/** The types the records service accepts by default (records.DefaultContentTypes). */
export const acceptedTypes: Record<string, string> = {
  "application/pdf": "PDF",
  "image/jpeg": "JPEG",
  "image/png": "PNG",
  "image/webp": "WebP",
  "application/dicom": "DICOM",
};

/** What a file name's extension says when the browser gives no type (DICOM files have none). */
const byExtension: Record<string, string> = {
  pdf: "application/pdf",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
  dcm: "application/dicom",
  dicom: "application/dicom",
};

/** The records service's default size limit of one document (records.DefaultMaxUploadBytes). */
export const maxUploadBytes = 50 * 1024 * 1024;

/** The longest a share may run (records.DefaultMaxShare). */
export const maxShareDays = 90;

/** The file input's accept list. */
export const acceptList = [...Object.keys(acceptedTypes), ".dcm"].join(",");

/** fileType is the content type to send a file as: the browser's, else the extension's; "" when unknown. */
export function fileType(f: { name: string; type: string }): string {
  if (f.type) return f.type;
  const ext = f.name.toLowerCase().split(".").pop() ?? "";
  return byExtension[ext] ?? "";
}

/** checkFile says, in pt-BR, why a file cannot be sent ("" when it can). */
export function checkFile(f: { name: string; type: string; size: number }): string {
  if (!acceptedTypes[fileType(f)]) return `${f.name}: tipo de arquivo não aceito. Envie PDF, JPEG, PNG, WebP ou DICOM.`;
  if (f.size === 0) return `${f.name}: o arquivo está vazio.`;
  if (f.size > maxUploadBytes) return `${f.name}: o arquivo tem ${formatSize(f.size)}; o limite é ${formatSize(maxUploadBytes)}.`;
  return "";
}

/** titleOf is a file's name without its extension, as a document's first title. */
export function titleOf(name: string): string {
  const dot = name.lastIndexOf(".");
  return (dot > 0 ? name.slice(0, dot) : name).slice(0, 200);
}

const sizeFmt = new Intl.NumberFormat("pt-BR", { maximumFractionDigits: 1 });

/** formatSize writes a size in bytes as people read it: 812 B, 3,4 KB, 12 MB. */
export function formatSize(bytes: number | string | undefined): string {
  const n = Number(bytes ?? 0);
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${sizeFmt.format(n / 1024)} KB`;
  return `${sizeFmt.format(n / (1024 * 1024))} MB`;
}

export const kinds: Record<string, string> = {
  DOCUMENT_KIND_EXAM: "Exame",
  DOCUMENT_KIND_REPORT: "Laudo ou atestado",
  DOCUMENT_KIND_IMAGE: "Imagem",
  DOCUMENT_KIND_PRESCRIPTION: "Receita",
  DOCUMENT_KIND_OTHER: "Outro",
};

export const shareStates: Record<string, string> = {
  SHARE_STATUS_LIVE: "Ativo",
  SHARE_STATUS_EXPIRED: "Expirado",
  SHARE_STATUS_REVOKED: "Revogado",
};

/** What each access-log action reads as, for "who saw what, when". */
export const actions: Record<string, string> = {
  "document.upload": "enviou",
  "document.download": "abriu",
  "document.read": "consultou",
  "document.list": "viu a lista de documentos",
  "document.update": "alterou",
  "document.delete": "excluiu",
  "group.create": "criou o grupo",
  "group.list": "listou os grupos",
  "group.rename": "renomeou o grupo",
  "access_log.read": "consultou o registro de acessos",
  "share.create": "compartilhou",
  "share.revoke": "revogou o compartilhamento",
  "share.list": "listou os compartilhamentos",
};

/** shareEnd is the end of a share chosen as a day: that day's last minute, local time. */
export function shareEnd(day: string): Date {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d, 23, 59, 0);
}

/** isoDay writes a date as YYYY-MM-DD in local time (what a date input holds). */
export function isoDay(t: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${p(t.getMonth() + 1)}-${p(t.getDate())}`;
}

/** examDay writes an exam's YYYY-MM-DD as dd/mm/aaaa, without a time zone's shift. */
export function examDay(d: string): string {
  const [y, m, dd] = d.split("-");
  return `${dd}/${m}/${y}`;
}

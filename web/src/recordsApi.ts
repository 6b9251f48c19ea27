// The record's calls that openapi-fetch does not make as the pages need them: the
// upload, by XMLHttpRequest (it reports the upload's progress, which fetch does not),
// and the download, handed to the browser as a file; and the doctors' names, for the
// shares and the access log.
import { useQueries } from "@tanstack/react-query";
import { api, bearer, must, type Schemas } from "./api/client";
import { ApiError, networkMessage } from "./errors";
import { fileType } from "./records";

export type RecordDocument = Schemas["v1Document"];

export type UploadInput = { file: File; title: string; kind: string; examDate: string; groupId: string };

/** upload sends a document as multipart/form-data (the metadata in the body, not in a
 * URL that logs would keep), reporting progress from 0 to 1. */
export async function upload(input: UploadInput, onProgress: (done: number) => void): Promise<RecordDocument> {
  const form = new FormData();
  form.append("title", input.title.trim());
  form.append("kind", input.kind);
  if (input.examDate) form.append("examDate", input.examDate);
  if (input.groupId) form.append("groupId", input.groupId);
  // The part's type is the document's: the browser's, or the extension's when it has none (DICOM).
  form.append("file", new File([input.file], input.file.name, { type: fileType(input.file) }));
  const auth = await bearer();
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/records/documents:upload");
    if (auth) xhr.setRequestHeader("Authorization", auth);
    xhr.responseType = "json";
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    };
    xhr.onload = () => {
      const body = xhr.response as { document?: RecordDocument } | null;
      if (xhr.status === 200 && body?.document) resolve(body.document);
      else reject(new ApiError(xhr.status, (body as never) ?? undefined));
    };
    xhr.onerror = () => reject(new ApiError(0, { message: networkMessage }));
    xhr.send(form);
  });
}

const extensions: Record<string, string> = {
  "application/pdf": ".pdf",
  "image/jpeg": ".jpg",
  "image/png": ".png",
  "image/webp": ".webp",
  "application/dicom": ".dcm",
};

/** download fetches a document (the caller's, or one shared with the calling doctor: the
 * grant is checked on this very request) and hands it to the browser as a file. */
export async function download(doc: RecordDocument): Promise<void> {
  const blob = await must(
    api.GET("/v1/records/documents/{documentId}:download", {
      params: { path: { documentId: doc.id! } },
      parseAs: "blob",
    }),
  );
  const url = URL.createObjectURL(blob as Blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = `${doc.title ?? "documento"}${extensions[doc.contentType ?? ""] ?? ""}`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** useDoctorNames maps doctors' account ids to the names their public profiles show. */
export function useDoctorNames(ids: string[]): Record<string, Schemas["v1Profile"]> {
  const unique = [...new Set(ids.filter(Boolean))];
  const answers = useQueries({
    queries: unique.map((id) => ({
      queryKey: ["doctor", id],
      queryFn: () => must(api.GET("/v1/doctors/{doctorId}", { params: { path: { doctorId: id } } })),
      staleTime: 60_000,
    })),
  });
  const out: Record<string, Schemas["v1Profile"]> = {};
  answers.forEach((a, i) => {
    if (a.data?.profile) out[unique[i]] = a.data.profile;
  });
  return out;
}

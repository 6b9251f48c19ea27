import { expect, test } from "@playwright/test";
import { cpfFeedback, maskCPF, validCPF } from "../src/cpf";
import { ApiError, messageFor, reasonMessages, reasonOf } from "../src/errors";
import { passwordStrength } from "../src/password";
import { totp } from "./totp";

test("the CPF mask formats as it is typed and drops what is not a digit", () => {
  expect(maskCPF("")).toBe("");
  expect(maskCPF("529")).toBe("529");
  expect(maskCPF("5299")).toBe("529.9");
  expect(maskCPF("5299822")).toBe("529.982.2");
  expect(maskCPF("5299822472")).toBe("529.982.247-2");
  expect(maskCPF("52998224725")).toBe("529.982.247-25");
  expect(maskCPF("529.982.247-25999")).toBe("529.982.247-25");
  expect(maskCPF("a5b2c9")).toBe("529");
});

test("the CPF check digits are verified", () => {
  expect(validCPF("529.982.247-25")).toBe(true);
  expect(validCPF("52998224725")).toBe(true);
  expect(validCPF("529.982.247-24")).toBe(false); // second digit wrong
  expect(validCPF("529.982.247-15")).toBe(false); // first digit wrong
  expect(validCPF("111.111.111-11")).toBe(false); // right digits, all the same
  expect(validCPF("5299822472")).toBe(false);
  expect(cpfFeedback("529.982.247")).toBe(""); // incomplete: nothing to say yet
  expect(cpfFeedback("529.982.247-24")).toContain("inválido");
  expect(cpfFeedback("529.982.247-25")).toBe("");
});

test("reasons read in pt-BR, an unknown one generically", () => {
  expect(messageFor("SLOT_TAKEN")).toContain("outra pessoa");
  expect(messageFor("INVALID_CREDENTIALS")).toBe("E-mail, CPF ou senha incorretos.");
  expect(messageFor("SOMETHING_NEW")).toBe("Algo deu errado. Tente de novo em instantes.");
  for (const [reason, text] of Object.entries(reasonMessages)) {
    expect(text, reason).toMatch(/^[A-ZÁÉÍÓÚÂÊÔÃÕÇ].*\.$/);
  }
  const body = {
    code: 9,
    message: "slot taken",
    details: [
      { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "SLOT_TAKEN", domain: "healthcore" },
      { "@type": "type.googleapis.com/google.rpc.BadRequest", fieldViolations: [{ field: "slotId", description: "x" }] },
    ],
  };
  expect(reasonOf(body)).toBe("SLOT_TAKEN");
  const e = new ApiError(400, body);
  expect(e.message).toBe(reasonMessages.SLOT_TAKEN);
  expect(Object.keys(e.fields)).toEqual(["slotId"]);
});

test("password strength grows with length and variety", () => {
  expect(passwordStrength("abc").score).toBe(0);
  expect(passwordStrength("correcthorse").score).toBeLessThan(passwordStrength("Correct-Horse-Battery-9").score);
  expect(passwordStrength("Correct-Horse-Battery-9").label).toBe("Forte");
});

test("the tests' TOTP gives RFC 6238's SHA-1 codes", () => {
  // RFC 6238 appendix B's secret ("12345678901234567890" in base32); its 8-digit codes
  // 94287082, 07081804 and 14050471 end in these six digits.
  const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
  expect(totp(secret, 59_000)).toBe("287082");
  expect(totp(secret, 1111111109_000)).toBe("081804");
  expect(totp(secret, 1111111111_000)).toBe("050471");
});

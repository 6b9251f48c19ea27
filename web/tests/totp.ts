import { createHmac } from "node:crypto";

// totp is the 6-digit code an authenticator app shows for a base32 secret at time t
// (RFC 6238: HMAC-SHA1 over the 30-second step, dynamic truncation of RFC 4226), as the
// platform's identity service checks it. The browser tests log the doctor in with it.
export function totp(secret: string, t: number = Date.now()): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.toUpperCase().replace(/[\s=]/g, "")) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    bits += v.toString(2).padStart(5, "0");
  }
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const step = Buffer.alloc(8);
  step.writeBigUInt64BE(BigInt(Math.floor(t / 1000 / 30)));
  const mac = createHmac("sha1", key).update(step).digest();
  const at = mac[mac.length - 1] & 0x0f;
  const n = (mac.readUInt32BE(at) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, "0");
}

// A small router over the History API: the app has a handful of pages, which does not
// need a routing library. Paths live under /app/ (the links the platform's e-mails
// carry: /app/verify-email, /app/appointments/{id}…).
import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

const changed = new Set<() => void>();

export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.scrollTo(0, 0);
  changed.forEach((f) => f());
}

export function useLocation(): URL {
  const [, setTick] = useState(0);
  useEffect(() => {
    const f = () => setTick((n) => n + 1);
    changed.add(f);
    window.addEventListener("popstate", f);
    return () => {
      changed.delete(f);
      window.removeEventListener("popstate", f);
    };
  }, []);
  return new URL(window.location.href);
}

/** match returns the path's parameters when path fits pattern ("/app/doctors/:id"). */
export function match(pattern: string, path: string): Record<string, string> | null {
  const ps = pattern.split("/");
  const xs = path.replace(/\/+$/, "").split("/");
  if (ps.length !== xs.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < ps.length; i++) {
    if (ps[i].startsWith(":")) out[ps[i].slice(1)] = decodeURIComponent(xs[i]);
    else if (ps[i] !== xs[i]) return null;
  }
  return out;
}

export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { href: string }) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return <a {...props} onClick={onClick} />;
}

/** home is where a signed-in account starts: a doctor at the agenda, a patient at the search. */
export function home(role: string | undefined): string {
  return role === "ROLE_DOCTOR" ? "/app/agenda" : "/app/doctors";
}

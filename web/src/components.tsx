// The app's own small set of components: the page frame, a labelled field with its
// hint and error, a button, an error banner. Plain React and CSS (src/styles.css): no UI
// framework, so few packages, full control of accessibility, and nothing that needs
// inline styles (the Content-Security-Policy allows none).
import { useId, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode, type SelectHTMLAttributes } from "react";
import { Link } from "./router";
import { useSession } from "./session";

export function Page({ title, children, wide }: { title: string; children: ReactNode; wide?: boolean }) {
  const { account, signOut } = useSession();
  return (
    <>
      <a className="skip" href="#main">
        Pular para o conteúdo
      </a>
      <header className="top">
        <nav className="bar" aria-label="Principal">
          <Link href="/app/" className="brand">
            <span className="logo" aria-hidden="true">
              +
            </span>
            Healthcore
          </Link>
          <ul className="menu">
            {account ? (
              <>
                {account.role === "ROLE_DOCTOR" ? (
                  <>
                    <li>
                      <Link href="/app/agenda">Minha agenda</Link>
                    </li>
                    <li>
                      <Link href="/app/shared">Compartilhados comigo</Link>
                    </li>
                  </>
                ) : (
                  <>
                    <li>
                      <Link href="/app/doctors">Buscar médicos</Link>
                    </li>
                    <li>
                      <Link href="/app/appointments">Minhas consultas</Link>
                    </li>
                    <li>
                      <Link href="/app/record">Meu prontuário</Link>
                    </li>
                  </>
                )}
                <li>
                  <button type="button" className="linklike" onClick={signOut}>
                    Sair
                  </button>
                </li>
              </>
            ) : (
              <>
                <li>
                  <Link href="/app/login">Entrar</Link>
                </li>
                <li>
                  <Link href="/app/signup" className="cta">
                    Criar conta
                  </Link>
                </li>
              </>
            )}
          </ul>
        </nav>
      </header>
      <main id="main" className={wide ? "page wide" : "page"} tabIndex={-1}>
        <h1>{title}</h1>
        {children}
      </main>
      <footer className="foot">Healthcore · telemedicina com médicos de CRM verificado</footer>
    </>
  );
}

type FieldProps = InputHTMLAttributes<HTMLInputElement> & {
  label: string;
  hint?: ReactNode;
  error?: string;
};

export function Field({ label, hint, error, ...input }: FieldProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errId = error ? `${id}-err` : undefined;
  return (
    <div className={error ? "field invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={[hintId, errId].filter(Boolean).join(" ") || undefined} {...input} />
      {hint && (
        <div id={hintId} className="hint">
          {hint}
        </div>
      )}
      {error && (
        <div id={errId} className="error-text" role="alert">
          {error}
        </div>
      )}
    </div>
  );
}

type SelectProps = SelectHTMLAttributes<HTMLSelectElement> & { label: string; children: ReactNode };

export function Select({ label, children, ...select }: SelectProps) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} {...select}>
        {children}
      </select>
    </div>
  );
}

export function Button({
  variant = "primary",
  busy,
  disabled,
  children,
  ...rest
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: "primary" | "secondary"; busy?: boolean }) {
  // disabled is taken out of rest: spread after, it would undo busy's.
  return (
    <button className={`btn ${variant}`} disabled={busy || disabled} aria-busy={busy || undefined} {...rest}>
      {children}
    </button>
  );
}

export function ErrorBanner({ error }: { error: unknown }) {
  if (!error) return null;
  const msg = error instanceof Error ? error.message : String(error);
  return (
    <div className="banner error" role="alert">
      {msg}
    </div>
  );
}

/** OkBanner says, politely to screen readers, that something went through. */
export function OkBanner({ children }: { children: ReactNode }) {
  if (!children) return null;
  return (
    <div className="banner ok" role="status">
      {children}
    </div>
  );
}

export function money(cents: string | number | undefined): string {
  return (Number(cents ?? 0) / 100).toLocaleString("pt-BR", { style: "currency", currency: "BRL" });
}

import { useEffect } from "react";
import { Page } from "./components";
import { Appointment } from "./pages/Appointment";
import { Agenda } from "./pages/Agenda";
import { Appointments } from "./pages/Appointments";
import { Doctor } from "./pages/Doctor";
import { DoctorLogin, Login } from "./pages/Login";
import { MyRecord } from "./pages/Record";
import { Search } from "./pages/Search";
import { Shared } from "./pages/Shared";
import { Signup } from "./pages/Signup";
import { VerifyEmail } from "./pages/VerifyEmail";
import { home, Link, match, navigate, useLocation } from "./router";
import { useSession } from "./session";

/** Pages that need a session send a visitor to the login (the doctor's, for the
 * doctor's pages), and back afterwards. */
function Private({ children, login = "/app/login" }: { children: React.ReactElement; login?: string }) {
  const { account, ready } = useSession();
  useEffect(() => {
    if (ready && !account) navigate(`${login}?next=${encodeURIComponent(location.pathname)}`, true);
  }, [ready, account, login]);
  return ready && account ? children : null;
}


export function App() {
  const url = useLocation();
  const path = url.pathname;
  const { ready, account } = useSession();
  useEffect(() => {
    if (path === "/" || path === "/app" || path === "/app/") {
      if (ready) navigate(account ? home(account.role) : "/app/signup", true);
    }
  }, [path, ready, account]);
  useEffect(() => {
    document.getElementById("main")?.focus({ preventScroll: true });
  }, [path]);
  if (!ready) return null;
  let m;
  if (path === "/app/signup") return <Signup />;
  if (path === "/app/login") return <Login next={url.searchParams.get("next") ?? ""} />;
  if (path === "/app/doctor/login") return <DoctorLogin next={url.searchParams.get("next") ?? ""} />;
  if (path === "/app/agenda")
    return (
      <Private login="/app/doctor/login">
        <Agenda />
      </Private>
    );
  if (path === "/app/shared")
    return (
      <Private login="/app/doctor/login">
        <Shared />
      </Private>
    );
  if (path === "/app/record")
    return (
      <Private>
        <MyRecord />
      </Private>
    );
  if (path === "/app/verify-email") return <VerifyEmail token={url.searchParams.get("token") ?? ""} />;
  if (path === "/app/doctors") return <Search />;
  if ((m = match("/app/doctors/:id", path))) return <Doctor id={m.id} />;
  if (path === "/app/appointments")
    return (
      <Private>
        <Appointments />
      </Private>
    );
  if ((m = match("/app/appointments/:id", path)))
    return (
      <Private>
        <Appointment id={m.id} />
      </Private>
    );
  if (path === "/" || path === "/app" || path === "/app/") return null;
  return (
    <Page title="Página não encontrada">
      <p>
        Esta página não existe ou ainda não está disponível. <Link href="/app/doctors">Buscar médicos</Link>
      </p>
    </Page>
  );
}

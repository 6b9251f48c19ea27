// Who is signed in, for the pages: restored from the refresh cookie when the app loads.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, logout, must, onSessionChange, refresh, signedIn, type Account } from "./api/client";
import { navigate } from "./router";

type Session = { account: Account | null; ready: boolean; reload: () => Promise<void>; signOut: () => void };

const Ctx = createContext<Session>({ account: null, ready: false, reload: async () => {}, signOut: () => {} });

export function SessionProvider({ children }: { children: ReactNode }) {
  const [account, setAccount] = useState<Account | null>(null);
  const [ready, setReady] = useState(false);
  const reload = useCallback(async () => {
    if (!signedIn()) {
      setAccount(null);
      return;
    }
    try {
      const me = await must(api.GET("/v1/me"));
      setAccount(me.account ?? null);
    } catch {
      setAccount(null);
    }
  }, []);
  useEffect(() => {
    void (async () => {
      await refresh();
      await reload();
      setReady(true);
    })();
    return onSessionChange(() => {
      if (!signedIn()) setAccount(null);
    });
  }, [reload]);
  const role = account?.role;
  const signOut = useCallback(() => {
    void logout().then(() => navigate(role === "ROLE_DOCTOR" ? "/app/doctor/login" : "/app/login"));
  }, [role]);
  return <Ctx.Provider value={{ account, ready, reload, signOut }}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  return useContext(Ctx);
}

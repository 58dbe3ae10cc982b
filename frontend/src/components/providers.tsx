"use client";
// The browser's gateway client and session, shared by every client component.
import { createContext, useContext, useEffect, useState, useSyncExternalStore, type ReactNode } from "react";
import { createGateway, type Gateway } from "@/lib/api/client";
import { SessionStore, type SessionSnapshot } from "@/lib/session/store";

const GatewayContext = createContext<Gateway | null>(null);
const SessionContext = createContext<SessionStore | null>(null);
const LOADING: SessionSnapshot = { status: "loading" };

/** Wraps the app; `gatewayUrl` is the public gateway address chosen by the server's settings. */
export function Providers({ gatewayUrl, children }: { gatewayUrl: string; children: ReactNode }) {
  const [gateway] = useState(() => createGateway(gatewayUrl));
  const [store] = useState(() => new SessionStore(gateway));
  useEffect(() => store.start(), [store]);
  return (
    <GatewayContext.Provider value={gateway}>
      <SessionContext.Provider value={store}>{children}</SessionContext.Provider>
    </GatewayContext.Provider>
  );
}

/** The gateway client for calls from the browser. */
export function useGateway(): Gateway {
  const g = useContext(GatewayContext);
  if (!g) throw new Error("useGateway outside <Providers>");
  return g;
}

/** The session store and its current state (re-renders on sign in, sign out and expiry). */
export function useSession(): { session: SessionSnapshot; store: SessionStore } {
  const store = useContext(SessionContext);
  if (!store) throw new Error("useSession outside <Providers>");
  const session = useSyncExternalStore(store.subscribe, store.getSnapshot, () => LOADING);
  return { session, store };
}

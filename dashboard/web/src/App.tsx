import { Suspense, use, useCallback, useEffect, useMemo, useRef, useState, type ComponentType } from 'react';
import { PAGE_VIEWS, pageRoute } from '@tamky/protocol/boot-data';
import { api, dropPrefetches, peekPrimed, setCsrfToken, setUnauthorizedHandler, takePrimed } from './api/client';
import type { Boot } from './boot';
import type { CityModel, Session } from './api/types';
import { Layout } from './components/Layout';
import { useI18n } from './i18n/i18n';
import { atLeast, roleForPath } from './lib/roles';
import { useLocation } from './lib/router';
import { AppContext, type AppContextValue } from './session';
import { LoginView } from './views/LoginView';
import { liveFeed } from './live/feed';

type View = ComponentType<{ param?: string }>;
// Views load on demand so the phone-first technician pages do not pay for the chart library. Which view a route
// shows is protocol's PAGE_VIEWS: the server preloads the same module with index.html.
const modules = import.meta.glob<{ default: View }>(['./views/*View.tsx', '!./views/LoginView.tsx']);
const loaders: Record<string, () => Promise<{ default: View }>> = Object.fromEntries(
  Object.entries(PAGE_VIEWS).map(([path, name]) => {
    const load = modules[`./views/${name}.tsx`];
    if (!load) throw new Error(`PAGE_VIEWS names ${name} for ${path}: no such module in src/views`);
    return [path, load];
  }),
);
/**
 * A view's code being loaded. Once in, it is marked as React's `use` reads a promise (`status`, `value`): a
 * render then takes it without suspending.
 */
type ViewCode = Promise<{ default: View }>;
const loading = new Map<string, ViewCode>();

function viewCode(route: string): ViewCode {
  let code = loading.get(route);
  if (!code) {
    const started: ViewCode = loaders[route]!();
    started.then(
      (mod) => Object.assign(started, { status: 'fulfilled', value: mod }),
      // A failed download is tried again by the next render or preload, not remembered.
      () => loading.delete(route),
    );
    loading.set(route, (code = started));
  }
  return code;
}

/**
 * One component per route, loading its view on demand. Unlike React.lazy, a view whose code is already in
 * renders at once: React.lazy suspends on the first render whatever, and React then keeps the fallback on screen
 * for its reveal throttle (a few hundred ms) before showing the view.
 */
const views: Record<string, View> = Object.fromEntries(
  Object.keys(loaders).map((route) => {
    function RouteView(props: { param?: string }) {
      const { default: Loaded } = use(viewCode(route));
      return <Loaded {...props} />;
    }
    return [route, RouteView];
  }),
);
const WallView = views['/wall']!;

/**
 * Starts downloading the current route's code while the session is still being checked; resolves once it is in
 * (or failed: the view's render shows that), at once for a path without a view.
 */
export function preloadView(path: string): Promise<void> {
  const page = pageRoute(path);
  return page && loaders[page.route]
    ? viewCode(page.route).then(
        () => undefined,
        () => undefined,
      )
    : Promise.resolve();
}

function route(path: string): { view: ComponentType<{ param?: string }> | null; param?: string } {
  const page = path === '/wall' ? null : pageRoute(path);
  return page ? { view: views[page.route] ?? null, param: page.param } : { view: null };
}

export function App({ boot }: { boot: Boot }) {
  const { t } = useI18n();
  const loc = useLocation();
  // A page the server inlined the session and city into renders the view from its first frame.
  const [session, setSession] = useState<Session | null>(boot.ready);
  const [city, setCity] = useState<CityModel | null>(() => (boot.ready ? (peekPrimed<CityModel>('/api/city') ?? null) : null));
  const [booting, setBooting] = useState(!boot.ready);
  const [bootError, setBootError] = useState<string | null>(null);
  const kiosk = loc.search.get('kiosk');

  const signedIn = useCallback((s: Session) => {
    setCsrfToken(s.csrfToken);
    setSession(s);
  }, []);
  const signedOut = useCallback(() => {
    setCsrfToken(null);
    dropPrefetches();
    setSession(null);
    liveFeed.stop();
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(signedOut);
    if (boot.ready) return;
    boot.session
      .then(signedIn)
      .catch((err: { status?: number; message: string }) => {
        if (err.status !== 401 && err.status !== 403) setBootError(err.message);
        else if (kiosk) setBootError(t('login.kioskFailed'));
      })
      .finally(() => setBooting(false));
    // once per page load
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  const [cityGeneration, setCityGeneration] = useState(0);
  const cityInlined = useRef(city !== null);
  useEffect(() => {
    if (!session) return;
    if (cityInlined.current) {
      cityInlined.current = false;
      takePrimed('/api/city');
      return;
    }
    api
      .get<CityModel>('/api/city')
      .then(setCity)
      .catch((err: Error) => setBootError(err.message));
  }, [session, cityGeneration]);
  // A new device registry saved by an admin (anywhere) reaches open pages, wall screens included.
  useEffect(() => {
    if (!session) return;
    // Also after a login through the form (the boot path starts the feed only for an existing session).
    liveFeed.start();
    return liveFeed.subscribe(['gateways'], (msg) => {
      if (msg.type === 'registry') setCityGeneration((g) => g + 1);
    });
  }, [session]);

  const ctx = useMemo<AppContextValue | null>(() => {
    if (!session || !city) return null;
    const wards = new Map(city.wards.map((w) => [w.id, w.name]));
    const devices = new Map(city.devices.map((d) => [d.id, d.name]));
    return {
      session,
      city,
      wardName: (id) => (id ? (wards.get(id) ?? id) : '—'),
      deviceName: (id) => (id ? (devices.get(id) ?? id) : '—'),
      refreshCity: () => setCityGeneration((g) => g + 1),
    };
  }, [session, city]);

  if (booting) return <p className="boot">{t('app.loading')}</p>;
  if (!session) return <LoginView onSignedIn={signedIn} error={bootError} />;
  if (!ctx)
    return (
      <p className="boot" role={bootError ? 'alert' : 'status'}>
        {bootError ? t('app.error', { message: bootError }) : t('app.loading')}
      </p>
    );

  const logout = () => {
    void api.logout().catch(() => undefined);
    signedOut();
  };

  if (loc.path === '/wall')
    return (
      <AppContext.Provider value={ctx}>
        <Suspense fallback={<p className="boot">{t('app.loading')}</p>}>
          <WallView />
        </Suspense>
      </AppContext.Provider>
    );

  const { view: View, param } = route(loc.path);
  const allowed = atLeast(session.user.role, roleForPath(loc.path));
  return (
    <AppContext.Provider value={ctx}>
      <Layout onLogout={logout}>
        {!View ? (
          <h1>{t('app.notFound')}</h1>
        ) : !allowed ? (
          <h1 role="alert">{t('app.forbidden')}</h1>
        ) : (
          <Suspense fallback={<p>{t('app.loading')}</p>}>
            <View param={param} />
          </Suspense>
        )}
      </Layout>
    </AppContext.Provider>
  );
}

import { lazy, Suspense, useEffect, useState } from 'react';
import { useI18n } from '../i18n/i18n';
import { usePublicSummary } from './usePublicSummary';
import { WardSummary } from './WardSummary';

const PublicMap = lazy(() => import('./PublicMap'));

/** True once the element came near the viewport: the map (MapLibre is most of the page's bytes) loads only for those who scroll to it. */
function useNearViewport<T extends Element>(): [(el: T | null) => void, boolean] {
  const [el, setEl] = useState<T | null>(null);
  const [near, setNear] = useState(false);
  useEffect(() => {
    if (!el || near) return;
    if (typeof IntersectionObserver === 'undefined') {
      setNear(true);
      return;
    }
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && setNear(true), { rootMargin: '200px' });
    io.observe(el);
    return () => io.disconnect();
  }, [el, near]);
  return [setEl, near];
}

/** /public: every public ward as a list and on the map. /public/embed?ward=…: one ward, compact, for the city portal and app. */
export function PublicPage({ embed, ward }: { embed: boolean; ward: string | undefined }) {
  const { t, time, lang, setLang } = useI18n();
  const { summary, failed } = usePublicSummary(embed ? ward : undefined);
  const [mapRef, mapNear] = useNearViewport<HTMLElement>();
  const switchLang = (
    <button type="button" className="lang" lang={lang === 'vi' ? 'en' : 'vi'} onClick={() => setLang(lang === 'vi' ? 'en' : 'vi')}>
      {t('app.switchLang')}
    </button>
  );
  const status = !summary ? (
    <p role="status">{failed ? t('public.error') : t('public.loading')}</p>
  ) : failed ? (
    <p role="status">{t('public.error')}</p>
  ) : null;

  if (embed) {
    const w = summary?.wards[0];
    return (
      <main className="public embed">
        {status}
        {summary && !w && <p>{t('public.noWard')}</p>}
        {w && <WardSummary ward={w} headingLevel={2} />}
        <footer>
          {summary && <span>{t('public.updated', { time: time(summary.ts) })}</span>}
          {switchLang}
          <a href="/public" target="_blank" rel="noopener">
            {t('public.seeAll')}
          </a>
        </footer>
      </main>
    );
  }

  return (
    <>
      <header className="public-header">
        <h1>{t('public.title')}</h1>
        {switchLang}
      </header>
      <main className="public">
        <p className="subtitle">{t('public.subtitle')}</p>
        {status}
        {summary && (
          <>
            <p className="updated">{t('public.updated', { time: time(summary.ts) })}</p>
            <section aria-labelledby="public-list">
              <h2 id="public-list">{t('public.list')}</h2>
              <div className="wards">
                {summary.wards.map((w) => (
                  <WardSummary key={w.id} ward={w} />
                ))}
              </div>
            </section>
            <section aria-labelledby="public-map" className="map" ref={mapRef}>
              <h2 id="public-map">{t('public.map')}</h2>
              {mapNear ? (
                <Suspense fallback={<p>{t('public.mapLoading')}</p>}>
                  <PublicMap summary={summary} />
                </Suspense>
              ) : (
                <p>{t('public.mapLoading')}</p>
              )}
            </section>
          </>
        )}
      </main>
      <footer className="public-footer">{t('public.source')}</footer>
    </>
  );
}

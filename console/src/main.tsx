// The console's shell: sign-in, navigation and hash routes (#/volumes/vol-…), one page each.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { customerApi, operatorApi } from './api';
import { AdmissionPage, ReviewQueuePage } from './pages/admission';
import { FleetPage } from './pages/fleet';
import { EventsPage, WebhookPage } from './pages/notifications';
import { RecoveriesPage } from './pages/recoveries';
import { ReviewPage } from './pages/review';
import { VolumePage } from './pages/volume';
import { VolumesPage } from './pages/volumes';
import { SignIn } from './sign-in';
import { loadSession, saveSession, type Session } from './session';
import './style.css';

function useHash(): string {
  const [hash, setHash] = useState(location.hash.slice(1) || '/');
  useEffect(() => {
    const on = () => setHash(location.hash.slice(1) || '/');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const CUSTOMER_NAV = [
  ['/volumes', 'Volumes'],
  ['/events', 'Events'],
  ['/webhook', 'Webhook'],
];
const OPERATOR_NAV = [
  ['/operator/fleet', 'Fleet'],
  ['/operator/recoveries', 'Recoveries'],
  ['/operator/admission', 'Admission'],
  ['/operator/reviews', 'Review queue'],
];

function customerPage(session: Session, path: string) {
  const api = customerApi(session.token);
  const review = /^\/volumes\/([\w-]+)\/review$/.exec(path);
  if (review) return <ReviewPage api={api} id={review[1]!} />;
  const volume = /^\/volumes\/([\w-]+)$/.exec(path);
  if (volume) return <VolumePage api={api} id={volume[1]!} />;
  if (path === '/events') return <EventsPage api={api} />;
  if (path === '/webhook') return <WebhookPage api={api} />;
  return <VolumesPage api={api} />;
}

function operatorPage(session: Session, path: string) {
  const api = operatorApi(session.token);
  if (path === '/operator/recoveries') return <RecoveriesPage api={api} />;
  if (path === '/operator/admission') return <AdmissionPage api={api} />;
  if (path === '/operator/reviews') return <ReviewQueuePage api={api} />;
  return <FleetPage api={api} />;
}

function App() {
  const [session, setSession] = useState(loadSession());
  const path = useHash();
  const signIn = (s: Session | null) => {
    saveSession(s);
    setSession(s);
    location.hash = s ? (s.role === 'operator' ? '#/operator/fleet' : '#/volumes') : '#/';
  };
  const nav = session?.role === 'operator' ? OPERATOR_NAV : session ? CUSTOMER_NAV : [];
  useEffect(() => document.getElementById('main')?.focus(), [path]);
  return (
    <>
      <a
        class="skip"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <header>
        <span class="brand">Blackstart</span>
        <nav aria-label="Main">
          <ul>
            {nav.map(([href, label]) => (
              <li key={href}>
                <a href={`#${href}`} aria-current={path.startsWith(href!) ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
            <li>
              <a href="/docs">API reference</a>
            </li>
          </ul>
        </nav>
        {session && (
          <button type="button" onClick={() => signIn(null)}>
            Sign out ({session.role})
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {!session ? <SignIn onSignIn={signIn} /> : session.role === 'operator' ? operatorPage(session, path) : customerPage(session, path)}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);

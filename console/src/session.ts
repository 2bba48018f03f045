// Who is signed in: a customer API key or the operator token, kept for this browser tab only.
export type Role = 'customer' | 'operator';
export interface Session {
  role: Role;
  token: string;
}

const KEY = 'blackstart.session';

export function loadSession(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return s && (s.role === 'customer' || s.role === 'operator') && typeof s.token === 'string' ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(s: Session | null): void {
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

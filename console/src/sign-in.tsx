// Sign in with a customer API key or the operator token; it is checked against the API once and
// kept in this tab's sessionStorage only.
import { useState } from 'preact/hooks';
import { customerApi, operatorApi } from './api';
import type { Role, Session } from './session';
import { ErrorNote } from './ui';

export function SignIn({ onSignIn }: { onSignIn: (s: Session) => void }) {
  const [role, setRole] = useState<Role>('customer');
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>(null);
  const submit = async () => {
    setError(null);
    try {
      await (role === 'customer' ? customerApi(token).volumes() : operatorApi(token).throttle());
      onSignIn({ role, token });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section class="sign-in">
      <h1>Sign in</h1>
      <p>
        Customers sign in with an API key (<code>bsk_…</code>); operators with the operator token. It is kept only in this browser tab.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <fieldset>
          <legend>I am</legend>
          <label class="inline">
            <input type="radio" name="role" checked={role === 'customer'} onChange={() => setRole('customer')} /> a customer
          </label>
          <label class="inline">
            <input type="radio" name="role" checked={role === 'operator'} onChange={() => setRole('operator')} /> an operator
          </label>
        </fieldset>
        <label>
          {role === 'customer' ? 'API key' : 'Operator token'}
          <input
            type="password"
            autoComplete="off"
            required
            value={token}
            onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
      <ErrorNote error={error} what="sign in" />
    </section>
  );
}

// The sign-in screen.
import { api } from '../api.js';
import { el, field, setChildren } from '../util.js';

/** Shows the form in `root`; calls onSignedIn(user) after a good login. */
export function mountLogin(root, onSignedIn) {
  const username = el('input', { name: 'username', autocomplete: 'username', required: true, testid: 'login-username' });
  const password = el('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, testid: 'login-password' });
  const error = el('p', { class: 'form-error', role: 'alert', testid: 'login-error' });
  const submit = el('button', { type: 'submit', class: 'btn primary block', testid: 'login-submit', text: 'Sign in' });
  let waitTimer = null;

  const form = el('form', { class: 'login-form', testid: 'login-form', novalidate: true },
    field('Username', username),
    field('Password', password),
    error,
    submit);

  const holdFor = (seconds) => {
    let left = Math.max(1, seconds);
    submit.disabled = true;
    const tick = () => {
      error.textContent = `Too many failed attempts. Try again in ${left} s.`;
      left -= 1;
      if (left < 0) {
        clearInterval(waitTimer);
        submit.disabled = false;
        error.textContent = 'You can try again now.';
      }
    };
    tick();
    clearInterval(waitTimer);
    waitTimer = setInterval(tick, 1000);
  };

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!username.value || !password.value) {
      error.textContent = 'Enter your username and password.';
      (username.value ? password : username).focus();
      return;
    }
    submit.disabled = true;
    error.textContent = '';
    try {
      const res = await api.login(username.value.trim(), password.value);
      clearInterval(waitTimer);
      onSignedIn(res.user);
    } catch (err) {
      submit.disabled = false;
      if (err.status === 401) {
        error.textContent = 'Wrong username or password.';
        password.value = '';
        password.focus();
      } else if (err.status === 429) {
        holdFor(parseInt(err.retryAfter, 10) || 5);
      } else {
        error.textContent = err.detail || 'Sign-in failed.';
      }
    }
  });

  setChildren(root, el('div', { class: 'login-page' },
    el('section', { class: 'login-card', 'aria-labelledby': 'login-title' },
      el('div', { class: 'brand big' }, el('span', { class: 'brand-mark', 'aria-hidden': 'true', text: 'N' }), 'Nod'),
      el('h1', { id: 'login-title', text: 'Sign in' }),
      el('p', { class: 'muted', text: 'Answer, approve and direct your agents.' }),
      form)));
  username.focus();
  return { destroy: () => clearInterval(waitTimer) };
}

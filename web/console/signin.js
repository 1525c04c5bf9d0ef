// The sign-in screen, shown wherever nobody is signed in: "Sign in with a passkey" (a
// discoverable credential: the browser offers the console's passkeys, no address typed), and
// "Lost your passkey?", which emails a recovery link to an administrator's address.

import { passkeysSupported, requestRecovery, signInWithPasskey } from './session.js';
import { field, h, onSubmit, showError, showStatus } from './ui.js';

/** Draws the sign-in screen into `container`; `onSignedIn(session)` runs after a sign-in. */
export function renderSignIn(container, { onSignedIn }) {
  const signInButton = h('button', { id: 'signin-button', type: 'button', className: 'button button-primary' }, 'Sign in with a passkey');
  signInButton.addEventListener('click', async () => {
    signInButton.disabled = true;
    showStatus('Waiting for your passkey…');
    try {
      const session = await signInWithPasskey();
      showStatus(`Signed in as ${session.administrator.email}.`, 'success');
      onSignedIn(session);
    } catch (error) {
      showError(error);
    } finally {
      if (signInButton.isConnected) signInButton.disabled = false;
    }
  });

  const recoveryForm = h(
    'form',
    { id: 'recovery-form', className: 'stack', novalidate: true },
    field({ label: 'Email address', name: 'email', id: 'recovery-email', type: 'email', autocomplete: 'username', required: true, spellcheck: 'false', autocapitalize: 'off' }),
    h('div', { className: 'actions' }, h('button', { type: 'submit', className: 'button' }, 'Email me a recovery link')),
  );
  onSubmit(recoveryForm, async (form) => {
    const input = form.elements.email;
    const email = input.value.trim();
    if (!email || !input.checkValidity()) {
      throw Object.assign(new Error('Enter the email address of your administrator account.'), { code: 'BAD_USER_INPUT', field: 'email' });
    }
    await requestRecovery(email);
    showStatus(`If ${email} belongs to an administrator, a recovery link is on its way. Open it on this device to create a new passkey.`, 'success');
    form.reset();
  });

  container.append(
    h(
      'div',
      { className: 'narrow' },
      h('h1', {}, 'Sign in to the Latchkey console'),
      passkeysSupported()
        ? null
        : h('p', { className: 'notice notice-error' }, 'This browser cannot use passkeys here. Use a current version of Chrome, Edge, Firefox or Safari.'),
      h(
        'section',
        { className: 'card', 'aria-labelledby': 'signin-heading' },
        h('h2', { id: 'signin-heading' }, 'Sign in'),
        h('p', {}, 'Use the passkey you created when you enrolled as an administrator.'),
        h('div', { className: 'actions' }, signInButton),
      ),
      h(
        'section',
        { className: 'card', 'aria-labelledby': 'recovery-heading' },
        h('h2', { id: 'recovery-heading' }, 'Lost your passkey?'),
        h('p', {}, 'Enter the address of your administrator account. We email it a link to create a new passkey.'),
        recoveryForm,
      ),
    ),
  );
}

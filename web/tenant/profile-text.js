// Every sentence and label of the self-service profile (profile.js: the profile form, the
// email change and the consents on the account page) and of the email-change undo link on the
// sign-in page (undo.js), in one place for translation. Functions take what varies in the
// sentence; nothing here is shown without going through one of these entries.

export const TEXT = {
  // The profile form (added under the Profile card's details)
  profileFormHeading: 'Edit your profile',
  displayName: 'Display name',
  phone: 'Phone',
  phoneHint: 'In international format, such as +44 20 7946 0958.',
  locale: 'Language',
  localeHint: 'The language of this service’s pages and emails for you.',
  localeDefault: 'The service’s default',
  attributeNotSet: 'Not set',
  saveProfile: 'Save profile',
  profileSaved: 'Your profile has been saved.',
  profileUnchanged: 'Nothing to save: you have not changed anything.',
  profileCheckFields: 'Please check the field marked below.',
  /** A number field holding something that is not a number. */
  notANumber: 'Enter a number.',

  // Changing the email address
  emailHeading: 'Email address',
  emailCurrent: (email) => `Your account uses ${email}. To move it to another address, enter the new one: we will email it a code.`,
  newEmail: 'New email address',
  sendCode: 'Send a code',
  emailEnterAddress: 'Enter the new email address.',
  emailSameAddress: 'That is the address your account already uses.',
  codeSent: (email, minutes) =>
    `If ${email} can be used, we sent it an email with a 6-digit code. Enter it here; it works for ${minutes} minute${minutes === 1 ? '' : 's'}.`,
  code: '6-digit code',
  codeHint: 'The email also has a link: opening it asks you to confirm on the sign-in page.',
  changeEmail: 'Change my email address',
  resendCode: 'Send a new code',
  codeResent: 'We sent a new code. The one before no longer works.',
  cancel: 'Cancel',
  enterCode: 'Enter the 6-digit code from the email.',
  emailChanged: (email) =>
    `Your account now uses ${email}. We sent a notice to your old address, with a link to undo the change for 7 days.`,
  emailTaken: 'This address cannot be used for your account. Please choose another one.',
  emailProofExpired: 'The code has expired. Please send a new code.',
  /** The email's link opened in a browser that is not signed in (sign-in page). */
  emailLinkSignedOut:
    'Your new address is confirmed, but this browser is not signed in to your account. Sign in, then change the address on your account page again.',

  // Consents
  consentsHeading: 'Consents',
  consentsHint: 'What you agree to. A change takes effect at once; you can change your mind at any time.',
  consentVersion: (version) => `version ${version}`,
  consentGrantedOn: (date) => `Agreed ${date}`,
  consentWithdrawnOn: (date) => `Withdrawn ${date}`,
  consentNotDecided: 'Not decided yet',
  consentOutdated: (version) => `You decided on version ${version}; the text has changed since.`,
  consentGranted: (title) => `You agreed to “${title}”.`,
  consentWithdrawn: (title) => `You withdrew your consent to “${title}”.`,

  // The undo link of an email change (sign-in page, `?undo_email_change=<token>`)
  undoHeading: 'Undo the email address change',
  undoText:
    'Your account’s email address was changed. Undo it to move the account back to this address; every session of the account is signed out.',
  undoButton: 'Undo the change',
  undoDone:
    'The change is undone: your account uses its previous email address again, and it was signed out everywhere. Please sign in again.',
  undoFailed:
    'This link no longer works: it has expired or was used already. If someone else controls your account, recover it with a code sent to your address (“Lost your passkey?” or “Forgot your password?”).',

  /** A date as the page shows it. */
  unknownTime: 'at an unknown time',
};

/**
 * The languages offered for `Identity.locale`, each named in its own language (so they are
 * not translated).
 */
export const LANGUAGES = [
  ['en', 'English'],
  ['de', 'Deutsch'],
  ['fr', 'Français'],
  ['es', 'Español'],
];

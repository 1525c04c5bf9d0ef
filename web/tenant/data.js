// The account page's "Your data" section: download everything held about the signed-in person
// (exportViewerData, saved as a JSON file) and delete the account (deleteViewerAccount). A
// deletion needs a recent sign-in; with the tenant's grace period the account is erased on the
// date the sign-in page then shows, and signing in before then keeps it.

import { authenticated, showError, showStatus, signedOutRedirect, slug } from './app.js';
import { currentLanguage, t } from './i18n.js';

const EXPORT = `mutation ExportViewerData { exportViewerData }`;

const DELETE = `mutation DeleteViewerAccount {
  deleteViewerAccount { status eraseAt }
}`;

const exportButton = document.getElementById('data-export-button');
const deleteButton = document.getElementById('data-delete-button');

function busy(value) {
  exportButton.disabled = value;
  deleteButton.disabled = value;
}

/** Saves `data` as a JSON file the browser downloads. */
function download(data, name) {
  const blob = new Blob([`${JSON.stringify(data, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

async function exportData() {
  busy(true);
  try {
    const data = await authenticated(EXPORT, {});
    const day = new Date().toISOString().slice(0, 10);
    download(data.exportViewerData, `${slug}-account-data-${day}.json`);
    showStatus(t('data.exported'), 'success');
  } catch (error) {
    showError(error, 'account');
  } finally {
    busy(false);
  }
}

async function deleteAccount() {
  if (!window.confirm(t('data.deleteConfirm'))) return;
  busy(true);
  try {
    const { deleteViewerAccount: deletion } = await authenticated(DELETE, {});
    if (deletion.status === 'ERASED') {
      signedOutRedirect('data.erased');
      return;
    }
    const date = new Date(deletion.eraseAt).toLocaleDateString(currentLanguage(), { dateStyle: 'long' });
    signedOutRedirect('data.scheduled', { date });
  } catch (error) {
    // The sign-in is too old: the person signs in again first (which keeps nothing pending).
    if (error?.code === 'FORBIDDEN' && /recent sign-in/i.test(error.message ?? '')) {
      showStatus(t('data.signInAgain'), 'error');
    } else {
      showError(error, 'account');
    }
    busy(false);
  }
}

exportButton.addEventListener('click', exportData);
deleteButton.addEventListener('click', deleteAccount);
